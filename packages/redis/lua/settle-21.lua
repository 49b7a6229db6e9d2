--[[ settle: end attempts, each fenced by its lease token.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] leases  KEYS[5] waiting
  KEYS[6] delayed  KEYS[7] active  KEYS[8] completed  KEYS[9] dead  KEYS[10] meta
  KEYS[11] settings  KEYS[12] marker  KEYS[13] dedup  KEYS[14] dlqNames  KEYS[15] dlqErrors
  KEYS[16] dlqClasses  KEYS[17] dlqAt  KEYS[18] gready  KEYS[19] gturns  KEYS[20] gactive
  KEYS[21] gcapped
  ARGV[1] settlement count; then 8 per settlement:
    kind (complete|remove|retry|dead|snooze), id, token, data, delayMs|'', errorName|'',
    packed id, errorClass|'' (the latest error's class, "unknown" when it has none)
    remove: a completion that deletes the job instead of keeping it as completed
    data: the result JSON (complete), the AttemptError JSON (retry, dead), '' (remove, snooze)
    packed id: the id as index members hold it (packId in src/codec.ts)
  Returns one integer per settlement in input order: 1 ok, 0 lease lost (the job is not
  active under that token: stale, settled already, cancelled or unknown). ]]
-- @include common

local now = nowMs()
local nowText = int(now)
local out = {}
local woke = false
local settled = false
local n = tonumber(ARGV[1])
-- Completions, the hot path, leave the lease and active indexes and enter the completed
-- index (unless removed) in one call each, after the loop (callMany).
local leaseIds, activeMembers, completed = {}, {}, {}

-- Back in line after delayMs: waiting at once when it is not positive.
local function reschedule(id, pm, jk, delayMs)
  local runAt = now + delayMs
  if runAt > now then
    redis.call('HSET', jk, 'r', int(runAt))
    redis.call('ZADD', K.timers, int(runAt), id)
    setState(id, jk, 'active', 'delayed', pm)
    -- Waiters learn the new due time from their next claim; nothing wakes them when it comes.
    woke = true
  else
    local priority, seq, _, group = jobInfo(jk)
    redis.call('HSET', jk, 'r', nowText)
    addReady(id, priority, now, seq, pm, group)
    setState(id, jk, 'active', 'waiting', pm)
    woke = true
  end
end

for i = 0, n - 1 do
  local base = 1 + i * 8
  local kind = ARGV[base + 1]
  local id = ARGV[base + 2]
  local pm = ARGV[base + 7]
  local jk = K.jobPrefix .. id
  local f = redis.call('HMGET', jk, 's', 'lt', 'k', 'g', 'tu')
  if f[1] ~= 'active' or f[2] ~= ARGV[base + 3] then
    out[i + 1] = 0
  else
    settled = true
    local data = ARGV[base + 4]
    if f[4] then leaveActive(f[4]) end
    -- A throttled key (tu after now) stays held by the job after it finishes.
    local releaseKey = f[3] and not (f[5] and tonumber(f[5]) > now)
    if kind == 'remove' then
      -- Deleting the hash fences a repeat of this job in the batch; its key goes with it,
      -- throttle window or not, as when a finished job is removed.
      leaseIds[#leaseIds + 1] = id
      activeMembers[#activeMembers + 1] = pm
      if f[3] then releaseDedupKey(id, f[3]) end
      redis.call('DEL', jk)
    elseif kind == 'complete' then
      -- Setting the state here (not after the loop) fences a repeat of this job in the batch.
      if data == 'null' then
        redis.call('HDEL', jk, 'lt', 'le', 'rs')
        redis.call('HSET', jk, 's', 'completed', 'f', nowText)
      else
        redis.call('HDEL', jk, 'lt', 'le')
        redis.call('HSET', jk, 's', 'completed', 'f', nowText, 'rs', data)
      end
      leaseIds[#leaseIds + 1] = id
      activeMembers[#activeMembers + 1] = pm
      completed[#completed + 1] = pm
      if releaseKey then releaseDedupKey(id, f[3]) end
    else
      redis.call('ZREM', K.leases, id)
      redis.call('HDEL', jk, 'lt', 'le')
      if kind == 'retry' then
        appendError(jk, data, ARGV[base + 6], ARGV[base + 8])
        reschedule(id, pm, jk, tonumber(ARGV[base + 5]))
      elseif kind == 'dead' then
        appendError(jk, data, ARGV[base + 6], ARGV[base + 8])
        redis.call('HSET', jk, 'f', nowText)
        setState(id, jk, 'active', 'dead', pm)
        if releaseKey then releaseDedupKey(id, f[3]) end
        countDead(jk, 1, pm, nowText)
      else
        -- snooze: claiming counted an attempt; a snooze gives it back.
        if redis.call('HINCRBY', jk, 'a', -1) <= 0 then redis.call('HDEL', jk, 'a') end
        reschedule(id, pm, jk, tonumber(ARGV[base + 5]))
      end
    end
    out[i + 1] = 1
  end
end
if #leaseIds > 0 then
  callMany('ZREM', K.leases, leaseIds)
  callMany('ZREM', K.active, activeMembers)
end
local done = #completed
if done > 0 then
  local seq = nextSeqs(done)
  local entries = {}
  for j = 1, done do
    entries[2 * j - 1] = int(seq + j)
    entries[2 * j] = completed[j]
  end
  callMany('ZADD', K.completed, entries)
end
-- A freed concurrency slot is new work for a capped queue.
if settled and not woke then
  local s = redis.call('HMGET', K.settings, 'conc', 'gconc')
  if s[1] or s[2] then woke = true end
end
if woke then wake() end
return out
