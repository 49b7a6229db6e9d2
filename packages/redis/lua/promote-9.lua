--[[ promote: make a delayed job due now.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] waiting  KEYS[5] delayed
  KEYS[6] meta  KEYS[7] marker  KEYS[8] gready  KEYS[9] gturns
  ARGV[1] id
  Returns 1 promoted, 0 not delayed (or missing). ]]
-- @include common

local id = ARGV[1]
local jk = jobKey(id)
if redis.call('HGET', jk, 's') ~= 'delayed' then return 0 end
local now = nowMs()
redis.call('HSET', jk, 'r', int(now))
promoteOne(id, jk, now)
wake()
return 1
