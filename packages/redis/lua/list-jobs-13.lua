--[[ list-jobs: one page of a state's jobs matching a filter, oldest in the state first,
  after a cursor.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] waiting  KEYS[5] delayed
  KEYS[6] active  KEYS[7] completed  KEYS[8] dead  KEYS[9] cancelled  KEYS[10] meta
  KEYS[11] marker  KEYS[12] gready  KEYS[13] gturns
  ARGV[1] state  ARGV[2] cursor: the state seq of the last job of the previous page|''
  ARGV[3] limit  ARGV[4..10] the filter (lua/includes/filter.lua)
  Returns {{id, {field, value, ...}, ...}, next cursor|false}. With a filter, at most
  SCAN_MAX index entries are examined per call, so a page may come back short (even empty)
  with a cursor to continue from: the work per call stays bounded whatever matches. A finish
  window on a terminal state narrows the walk to its seq range first (filter.lua). ]]
-- @include common
-- @include filter

local SCAN_MAX = 1000
local CHUNK = 100

promoteDue(nowMs())
local state = ARGV[1]
local index = K[state]
local limit = tonumber(ARGV[3])
local F = readFilter(4)
local out = {}
local cursor = false
local min, max = scanRange(index, state, F, ARGV[2])

if not min then
  return { out, cursor }
elseif not F.any then
  -- One entry past the page tells whether another page exists.
  local page = redis.call('ZRANGE', index, min, max, 'BYSCORE', 'LIMIT', 0, limit + 1, 'WITHSCORES')
  local count = math.min(limit, #page / 2)
  for i = 1, count do
    local id = unpackId(page[i * 2 - 1])
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGETALL', jobKey(id))
  end
  if #page / 2 > limit then cursor = page[limit * 2] end
else
  local examined = 0
  local matched = 0
  local lastMatch = nil
  local done = false
  while not done do
    local chunk = redis.call('ZRANGE', index, min, max, 'BYSCORE', 'LIMIT', 0, CHUNK, 'WITHSCORES')
    for j = 1, #chunk, 2 do
      local id = unpackId(chunk[j])
      local score = chunk[j + 1]
      local jk = jobKey(id)
      if matchJob(jk, F) then
        if matched == limit then
          cursor = lastMatch
          done = true
          break
        end
        matched = matched + 1
        lastMatch = score
        out[#out + 1] = id
        out[#out + 1] = redis.call('HGETALL', jk)
      end
      examined = examined + 1
      min = '(' .. score
      if examined >= SCAN_MAX then
        cursor = score
        done = true
        break
      end
    end
    if #chunk < CHUNK * 2 then done = true end
  end
end
return { out, cursor }
