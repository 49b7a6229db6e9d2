--[[ remove: delete a job that is not active.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] waiting  KEYS[5] delayed
  KEYS[6] completed  KEYS[7] dead  KEYS[8] cancelled  KEYS[9] dedup  KEYS[10] dlqNames
  KEYS[11] dlqErrors  KEYS[12] dlqClasses  KEYS[13] dlqAt  KEYS[14] gready
  ARGV[1] id
  Returns 1 removed, 0 not found, -1 active (refused). ]]
-- @include common

local id = ARGV[1]
local jk = jobKey(id)
local state = redis.call('HGET', jk, 's')
if not state then return 0 end
if state == 'active' then return -1 end
leaveQueue(id, jk, state)
local pm = packId(id)
redis.call('ZREM', K[state], pm)
releaseDedup(id, jk)
if state == 'dead' then countDead(jk, -1, pm) end
redis.call('DEL', jk)
return 1
