--[[ clean: delete up to ARGV[3] jobs of a terminal state that match a filter, oldest first.
  The filter always has finishedBefore; its finish window is a seq range of the state index
  (lua/includes/filter.lua), so jobs too young are never examined. Other fields are checked
  per job, and at most ARGV[4] index entries are examined per call: the caller continues
  from the returned cursor until it has removed enough or the cursor is false.
  KEYS[1] jobPrefix  KEYS[2] completed  KEYS[3] dead  KEYS[4] cancelled  KEYS[5] dlqNames
  KEYS[6] dlqErrors  KEYS[7] dlqClasses  KEYS[8] dlqAt
  ARGV[1] state (completed|dead|cancelled)  ARGV[2] cursor: a state seq|''  ARGV[3] limit
  ARGV[4] most entries to examine  ARGV[5..11] the filter
  Returns {deleted, next cursor|false}: false when the range holds nothing more. ]]
-- @include common
-- @include filter

local CHUNK = 100
local state = ARGV[1]
local index = K[state]
local limit = tonumber(ARGV[3])
local scanMax = tonumber(ARGV[4])
local F = readFilter(5)
local removed = 0
local examined = 0
if limit <= 0 then return { 0, ARGV[2] ~= '' and ARGV[2] or false } end
local min, max = scanRange(index, state, F, ARGV[2])
if not min then return { 0, false } end
while true do
  local chunk = redis.call('ZRANGE', index, min, max, 'BYSCORE', 'LIMIT', 0, CHUNK, 'WITHSCORES')
  for j = 1, #chunk, 2 do
    local member = chunk[j]
    local score = chunk[j + 1]
    local jk = jobKey(unpackId(member))
    if matchJob(jk, F) then
      if state == 'dead' then countDead(jk, -1, member) end
      redis.call('ZREM', index, member)
      redis.call('DEL', jk)
      removed = removed + 1
    end
    examined = examined + 1
    min = '(' .. score
    if removed >= limit or examined >= scanMax then return { removed, score } end
  end
  if #chunk < CHUNK * 2 then return { removed, false } end
end
