--[[ add: store new jobs, once per id and once per live dedup key, in input order.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] waiting  KEYS[5] delayed
  KEYS[6] dedup  KEYS[7] meta  KEYS[8] marker
  ARGV[1] job count; then per job:
    id, packed id (packId in src/codec.ts), name, priority, maxAttempts, dedupKey|'', delayMs,
    runAt|'', m, then m more: the job's other hash fields as field, value, ... (payload chunks,
    b, t, k, md; encodeNewJob in src/codec.ts makes them, so no string work is done here)
  Returns per job: created 1|0, the job's id (the holder's on a dedup hit), and then
  {field, value, ...} of the holder's hash on a hit (field names in includes/common.lua), or
  {createdAt, runAt} for a created job: the client knows the rest of what it stored
  (createdJob in src/codec.ts), so Redis does not read it back. ]]
-- @include common

local now = nowMs()
local out = {}
local n = tonumber(ARGV[1])
-- One seq per job serves as its insertion seq (in `o` and its ready member) and as its
-- score in the state index: each index needs its seqs unique, not distinct from the other's.
local seq = nextSeqs(n)
-- The index entries of the new jobs go out once per call (callMany), in input order.
local ready, waiting, delayed, timers = {}, {}, {}, {}
local nowText = int(now)
local p = 2
for j = 1, n do
  local id = ARGV[p]
  local pm = ARGV[p + 1]
  local base = p
  local first = p + 9
  local last = first + tonumber(ARGV[p + 8]) - 1
  p = last + 1
  local jk = K.jobPrefix .. id
  local dedupKey = ARGV[base + 5]
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
    if ARGV[base + 7] ~= '' then
      runAt = tonumber(ARGV[base + 7])
    else
      runAt = now + math.max(0, tonumber(ARGV[base + 6]))
    end
    local jobSeq = int(seq + j)
    local packed = ARGV[base + 3] .. ' ' .. ARGV[base + 4] .. ' ' .. nowText .. ' ' .. jobSeq .. ' ' .. ARGV[base + 2]
    local runText = int(runAt)
    if runAt > now then
      redis.call('HSET', jk, 'o', packed, 'r', runText, 's', 'delayed', unpack(ARGV, first, last))
      timers[#timers + 1] = runText
      timers[#timers + 1] = id
      delayed[#delayed + 1] = jobSeq
      delayed[#delayed + 1] = pm
    else
      redis.call('HSET', jk, 'o', packed, 'r', runText, 's', 'waiting', unpack(ARGV, first, last))
      ready[#ready + 1] = readyScore(tonumber(ARGV[base + 3]), runAt)
      ready[#ready + 1] = readyMember(seq + j, id, pm)
      waiting[#waiting + 1] = jobSeq
      waiting[#waiting + 1] = pm
    end
    if dedupKey ~= '' then redis.call('HSET', K.dedup, dedupKey, id) end
    out[#out + 1] = 1
    out[#out + 1] = id
    out[#out + 1] = { nowText, runText }
  end
end
callMany('ZADD', K.ready, ready)
callMany('ZADD', K.waiting, waiting)
callMany('ZADD', K.timers, timers)
callMany('ZADD', K.delayed, delayed)
-- A delayed add wakes waiters too: their next claim learns the new nextWakeAt.
if #waiting > 0 or #delayed > 0 then wake() end
return out
