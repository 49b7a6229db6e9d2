--[[ add: store new jobs, once per id and once per live dedup key, in input order.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] waiting  KEYS[5] delayed
  KEYS[6] dedup  KEYS[7] meta  KEYS[8] marker
  ARGV[1] job count; then 11 per job:
    id, name, payload JSON, priority, maxAttempts, backoff JSON|'', timeoutMs|'',
    dedupKey|'', metadata JSON|'' ('' is {}), delayMs, runAt|''
  Returns per job: created 1|0, the job's id (the holder's on a dedup hit), and
  {field, value, ...} of its hash (field names in includes/common.lua). ]]
-- @include common

local now = nowMs()
local out = {}
local woke = false
local n = tonumber(ARGV[1])
for i = 0, n - 1 do
  local base = 1 + i * 11
  local id = ARGV[base + 1]
  local jk = jobKey(id)
  local dedupKey = ARGV[base + 8]
  local existing = nil
  if redis.call('EXISTS', jk) == 1 then
    existing = id
  elseif dedupKey ~= '' then
    local holder = redis.call('HGET', K.dedup, dedupKey)
    if holder then
      if redis.call('EXISTS', jobKey(holder)) == 1 then
        existing = holder
      else
        -- A holder that no longer exists (deleted outside QueueFlow) holds nothing.
        redis.call('HDEL', K.dedup, dedupKey)
      end
    end
  end
  if existing then
    out[#out + 1] = 0
    out[#out + 1] = existing
    out[#out + 1] = redis.call('HGETALL', jobKey(existing))
  else
    local runAt
    if ARGV[base + 11] ~= '' then
      runAt = tonumber(ARGV[base + 11])
    else
      runAt = now + math.max(0, tonumber(ARGV[base + 10]))
    end
    local priority = tonumber(ARGV[base + 4])
    local seq = nextSeq()
    local packed = ARGV[base + 4] .. ' ' .. ARGV[base + 5] .. ' ' .. int(now) .. ' ' .. int(seq) .. ' ' .. ARGV[base + 2]
    redis.call('HSET', jk, 'o', packed, 'r', int(runAt))
    setPayload(jk, ARGV[base + 3], false)
    if ARGV[base + 6] ~= '' then redis.call('HSET', jk, 'b', ARGV[base + 6]) end
    if ARGV[base + 7] ~= '' then redis.call('HSET', jk, 't', ARGV[base + 7]) end
    if dedupKey ~= '' then
      redis.call('HSET', jk, 'k', dedupKey)
      redis.call('HSET', K.dedup, dedupKey, id)
    end
    if ARGV[base + 9] ~= '' then redis.call('HSET', jk, 'md', ARGV[base + 9]) end
    if runAt > now then
      redis.call('ZADD', K.timers, int(runAt), id)
      setState(id, jk, nil, 'delayed')
    else
      addReady(id, priority, runAt, seq)
      setState(id, jk, nil, 'waiting')
    end
    -- A delayed add wakes waiters too: their next claim learns the new nextWakeAt.
    woke = true
    out[#out + 1] = 1
    out[#out + 1] = id
    out[#out + 1] = redis.call('HGETALL', jk)
  end
end
if woke then wake() end
return out
