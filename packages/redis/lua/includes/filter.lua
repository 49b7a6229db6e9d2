--[[ filter: the JobFilter of listJobs and clean (include after common).
  A filter comes as 7 ARGV slots, '' for a field not set: name, errorName, errorClass,
  finishedAfter, finishedBefore, minAttempts, maxAttempts. Semantics are core's
  matchesJobFilter: error fields look at the latest error (`en`, `ec`; a missing class is
  "unknown"), time fields only match jobs with a finishedAt, after is inclusive, before is
  exclusive.

  Terminal states' indexes are in finishedAt order (a job enters the state and gets its
  finishedAt in one script), so a finish window becomes a seq range found by binary search
  over ranks: O(log^2 n), whatever the window holds. Every job is still checked in full. ]]

local function readFilter(from)
  local function opt(i)
    local v = ARGV[from + i]
    if v == '' then return nil end
    return v
  end
  local F = {
    name = opt(0), errorName = opt(1), errorClass = opt(2),
    after = tonumber(opt(3)), before = tonumber(opt(4)),
    minA = tonumber(opt(5)), maxA = tonumber(opt(6)),
  }
  F.timed = F.after ~= nil or F.before ~= nil
  F.any = F.name ~= nil or F.errorName ~= nil or F.errorClass ~= nil or F.timed
    or F.minA ~= nil or F.maxA ~= nil
  return F
end

-- One HMGET per job examined.
local function matchJob(jk, F)
  local h = redis.call('HMGET', jk, 'o', 'a', 'f', 'en', 'ec')
  if not h[1] then return false end
  if F.name and string.match(h[1], '^%d+ %d+ %d+ %d+ (.*)$') ~= F.name then return false end
  local attempts = tonumber(h[2] or '0')
  if F.minA and attempts < F.minA then return false end
  if F.maxA and attempts > F.maxA then return false end
  if F.timed then
    local at = tonumber(h[3])
    if not at then return false end
    if F.after and at < F.after then return false end
    if F.before and not (at < F.before) then return false end
  end
  if F.errorName or F.errorClass then
    if not h[4] then return false end
    if F.errorName and h[4] ~= F.errorName then return false end
    if F.errorClass and (h[5] or 'unknown') ~= F.errorClass then return false end
  end
  return true
end

-- The rank of the first job of a terminal index that finished at or after t (n: none).
local function firstRankAt(index, n, t)
  local lo, hi = 0, n
  while lo < hi do
    local mid = math.floor((lo + hi) / 2)
    local member = redis.call('ZRANGE', index, mid, mid)[1]
    local at = tonumber(redis.call('HGET', jobKey(unpackId(member)), 'f') or '0')
    if at < t then lo = mid + 1 else hi = mid end
  end
  return lo
end

-- The score range (ZRANGE BYSCORE min, max) to walk in `index` after `cursor` (a seq or ''),
-- narrowed by the filter's finish window on terminal states. False when nothing can match.
local function scanRange(index, state, F, cursor)
  local min, max = '-inf', '+inf'
  if cursor ~= '' then min = '(' .. cursor end
  if not F.timed then return min, max end
  -- Jobs that are not terminal have no finishedAt: a time filter matches none of them.
  if not isTerminal(state) then return false end
  local n = redis.call('ZCARD', index)
  if F.after then
    local r = firstRankAt(index, n, F.after)
    if r >= n then return false end
    local seq = tonumber(redis.call('ZRANGE', index, r, r, 'WITHSCORES')[2])
    if cursor == '' or tonumber(cursor) < seq then min = int(seq) end
  end
  if F.before then
    local r = firstRankAt(index, n, F.before)
    if r < n then max = '(' .. redis.call('ZRANGE', index, r, r, 'WITHSCORES')[2] end
  end
  return min, max
end
