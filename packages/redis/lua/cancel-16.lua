--[[ cancel: finish a job that is not terminal as cancelled; an active job's lease is voided.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] leases  KEYS[5] waiting
  KEYS[6] delayed  KEYS[7] active  KEYS[8] cancelled  KEYS[9] meta  KEYS[10] settings
  KEYS[11] marker  KEYS[12] dedup  KEYS[13] gready  KEYS[14] gturns  KEYS[15] gactive
  KEYS[16] gcapped
  ARGV[1] id
  Returns the job's resulting state (a terminal job keeps its own), or false when the job
  does not exist. ]]
-- @include common

local id = ARGV[1]
local jk = jobKey(id)
local state = redis.call('HGET', jk, 's')
if not state then return false end
if isTerminal(state) then return state end
local now = nowMs()
leaveQueue(id, jk, state)
redis.call('HSET', jk, 'f', int(now))
setState(id, jk, state, 'cancelled')
releaseDedup(id, jk, now)
-- A freed concurrency slot is new work for a capped queue.
if state == 'active' then
  local s = redis.call('HMGET', K.settings, 'conc', 'gconc')
  if s[1] or s[2] then wake() end
end
return 'cancelled'
