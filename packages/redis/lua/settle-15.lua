--[[ settle: end attempts, each fenced by its lease token.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] leases  KEYS[5] waiting
  KEYS[6] delayed  KEYS[7] active  KEYS[8] completed  KEYS[9] dead  KEYS[10] meta
  KEYS[11] settings  KEYS[12] marker  KEYS[13] dedup  KEYS[14] dlqNames  KEYS[15] dlqErrors
  ARGV[1] settlement count; then 7 per settlement:
    kind (complete|retry|dead|snooze), id, token, data, delayMs|'', errorName|'', packed id
    data: the result JSON (complete), the AttemptError JSON (retry, dead), '' (snooze)
    packed id: the id as index members hold it (packId in src/codec.ts)
  Returns one integer per settlement in input order: 1 ok, 0 lease lost (the job is not
  active under that token: stale, settled already, cancelled or unknown). ]]
-- @include common

local now = nowMs()
local out = {}
local woke = false
local n = tonumber(ARGV[1])

-- Back in line after delayMs: waiting at once when it is not positive.
local function reschedule(id, pm, jk, delayMs)
  local runAt = now + delayMs
  if runAt > now then
    redis.call('HSET', jk, 'r', int(runAt))
    redis.call('ZADD', K.timers, int(runAt), id)
    setState(id, jk, 'active', 'delayed', pm)
  else
    local priority, seq = jobInfo(jk)
    redis.call('HSET', jk, 'r', int(now))
    addReady(id, priority, now, seq, pm)
    setState(id, jk, 'active', 'waiting', pm)
    woke = true
  end
end

for i = 0, n - 1 do
  local base = 1 + i * 7
  local kind = ARGV[base + 1]
  local id = ARGV[base + 2]
  local pm = ARGV[base + 7]
  local jk = jobKey(id)
  local f = redis.call('HMGET', jk, 's', 'lt')
  if f[1] ~= 'active' or f[2] ~= ARGV[base + 3] then
    out[#out + 1] = 0
  else
    redis.call('ZREM', K.leases, id)
    redis.call('HDEL', jk, 'lt', 'le')
    local data = ARGV[base + 4]
    if kind == 'complete' then
      if data == 'null' then redis.call('HDEL', jk, 'rs') else redis.call('HSET', jk, 'rs', data) end
      redis.call('HSET', jk, 'f', int(now))
      setState(id, jk, 'active', 'completed', pm)
      releaseDedup(id, jk)
    elseif kind == 'retry' then
      appendError(jk, data, ARGV[base + 6])
      reschedule(id, pm, jk, tonumber(ARGV[base + 5]))
    elseif kind == 'dead' then
      appendError(jk, data, ARGV[base + 6])
      redis.call('HSET', jk, 'f', int(now))
      setState(id, jk, 'active', 'dead', pm)
      releaseDedup(id, jk)
      countDead(jk, 1)
    else
      -- snooze: claiming counted an attempt; a snooze gives it back.
      if redis.call('HINCRBY', jk, 'a', -1) <= 0 then redis.call('HDEL', jk, 'a') end
      reschedule(id, pm, jk, tonumber(ARGV[base + 5]))
    end
    out[#out + 1] = 1
    -- A freed concurrency slot is new work for a capped queue.
    if not woke and redis.call('HEXISTS', K.settings, 'conc') == 1 then woke = true end
  end
end
if woke then wake() end
return out
