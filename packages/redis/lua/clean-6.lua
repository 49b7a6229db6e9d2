--[[ clean: delete up to ARGV[3] jobs of a terminal state that finished before ARGV[2].
  A terminal job's finishedAt is when it entered the state, so the state index is in
  finishedAt order and the walk stops at the first job too young: O(removed).
  KEYS[1] jobPrefix  KEYS[2] completed  KEYS[3] dead  KEYS[4] cancelled  KEYS[5] dlqNames
  KEYS[6] dlqErrors
  ARGV[1] state (completed|dead|cancelled)  ARGV[2] finishedBefore ms  ARGV[3] limit
  Returns how many were deleted. ]]
-- @include common

local state = ARGV[1]
local before = tonumber(ARGV[2])
local limit = tonumber(ARGV[3])
local removed = 0
if limit <= 0 then return 0 end
local oldest = redis.call('ZRANGE', K[state], 0, limit - 1)
for _, member in ipairs(oldest) do
  local id = unpackId(member)
  local jk = jobKey(id)
  local finished = tonumber(redis.call('HGET', jk, 'f'))
  if finished and not (finished < before) then break end
  if state == 'dead' then countDead(jk, -1) end
  redis.call('ZREM', K[state], member)
  redis.call('DEL', jk)
  removed = removed + 1
end
return removed
