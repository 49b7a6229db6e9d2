--[[ get-job: one job's hash; a delayed job that is due is made waiting first, so a due job
  is never observed as delayed.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] waiting  KEYS[5] delayed
  KEYS[6] meta  KEYS[7] marker  KEYS[8] gready  KEYS[9] gturns
  ARGV[1] id
  Returns {field, value, ...}, empty when the job does not exist. ]]
-- @include common

local id = ARGV[1]
local jk = jobKey(id)
local f = redis.call('HMGET', jk, 's', 'r')
if f[1] == 'delayed' and tonumber(f[2]) <= nowMs() then
  promoteOne(id, jk, tonumber(f[2]))
  wake()
end
return redis.call('HGETALL', jk)
