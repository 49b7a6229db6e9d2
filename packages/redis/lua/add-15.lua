--[[ add: store new jobs, once per id and once per live dedup key, in input order.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] waiting  KEYS[5] delayed
  KEYS[6] dedup  KEYS[7] meta  KEYS[8] marker  KEYS[9] gready  KEYS[10] gturns
  KEYS[11] settings  KEYS[12] idle  KEYS[13] handoff  KEYS[14] leases  KEYS[15] active
  ARGV[1] job count; then per job:
    id, packed id (packId in src/codec.ts), name, priority, maxAttempts, dedupKey|'', delayMs,
    runAt|'', group|'', dedup mode ('' live, 't<ttl ms>' throttle, 'd' debounce), m, then m
    more: the job's other hash fields as field, value, ... (payload chunks, b, t, k, md, g;
    encodeNewJob in src/codec.ts makes them, so no string work is done here)
  Returns per job: created 1|0, the job's id (the holder's on a dedup hit), and then
  {field, value, ...} of the holder's hash on a hit (field names in includes/common.lua), or
  {createdAt, runAt} for a created job: the client knows the rest of what it stored
  (createdJob in src/codec.ts), so Redis does not read it back.
  Dedup modes: live, the key is held while its job is not finished; throttle, also until
  `tu` (creation + ttl) after it finished, while it exists; debounce, an add whose key is
  held by a job not started yet gives that job its payload and due time, and otherwise
  creates a job that becomes the key's holder.
  Handoff (lua/includes/handoff.lua): while workers are registered as waiting and the new
  job would be the next one claimed, it is leased to one of them as a claim would lease it
  and pushed onto `handoff` instead of `ready`; the reply is the same (the job as added). ]]
-- @include common
-- @include handoff

local now = nowMs()
local out = {}
local n = tonumber(ARGV[1])
-- One seq per job serves as its insertion seq (in `o` and its ready member) and as its
-- score in the state index: each index needs its seqs unique, not distinct from the other's.
local seq = nextSeqs(n)
-- The index entries of the new jobs go out once per call (callMany), in input order.
local ready, waiting, delayed, timers, gready = {}, {}, {}, {}, {}
local turns, grouped, debounced = {}, false, false
local nowText = int(now)
local handoff = handoffOpen(now)
local leases, active, handed = {}, {}, {}

-- A handoff gives a batch's due jobs out in input order, which is right only when that is
-- claim order (priority, then due time; ties keep input order). A batch whose due jobs are
-- not in it (a low priority before a high one) goes in line, and its wake-up lets the
-- waiting workers claim it in order.
local function dueInClaimOrder()
  local q, last = 2, nil
  for _ = 1, n do
    local r
    if ARGV[q + 7] ~= '' then r = tonumber(ARGV[q + 7]) else r = now + math.max(0, tonumber(ARGV[q + 6])) end
    if r <= now then
      local score = (20 - tonumber(ARGV[q + 3])) * SPAN + math.max(r, 0)
      if last and score < last then return false end
      last = score
    end
    q = q + 11 + tonumber(ARGV[q + 10])
  end
  return true
end
if handoff and n > 1 and not dueInClaimOrder() then handoff = false end

-- Debounce: the holder (waiting or delayed) takes the add's payload and due time.
local function debounce(holder, state, first, last, runAt)
  local jk = jobKey(holder)
  leaveQueue(holder, jk, state)
  redis.call('HDEL', jk, unpack(CHUNK_FIELDS))
  for i = first, last, 2 do
    if string.sub(ARGV[i], 1, 1) == 'd' then redis.call('HSET', jk, ARGV[i], ARGV[i + 1]) end
  end
  redis.call('HSET', jk, 'r', int(runAt))
  if runAt > now then
    redis.call('ZADD', K.timers, int(runAt), holder)
    setState(holder, jk, state, 'delayed')
  else
    local priority, hseq, _, group = jobInfo(jk)
    addReady(holder, priority, runAt, hseq, nil, group)
    setState(holder, jk, state, 'waiting')
  end
end

local p = 2
for j = 1, n do
  local id = ARGV[p]
  local pm = ARGV[p + 1]
  local base = p
  local first = p + 11
  local last = first + tonumber(ARGV[p + 10]) - 1
  p = last + 1
  local jk = K.jobPrefix .. id
  local dedupKey = ARGV[base + 5]
  local group = ARGV[base + 8]
  local mode = ARGV[base + 9]
  local runAt
  if ARGV[base + 7] ~= '' then
    runAt = tonumber(ARGV[base + 7])
  else
    runAt = now + math.max(0, tonumber(ARGV[base + 6]))
  end
  local existing = nil
  if redis.call('EXISTS', jk) == 1 then
    existing = id
  elseif dedupKey ~= '' then
    local holder = redis.call('HGET', K.dedup, dedupKey)
    if holder then
      local h = redis.call('HMGET', jobKey(holder), 's', 'tu')
      if not h[1] then
        -- A holder that no longer exists (deleted outside QueueFlow) holds nothing.
        redis.call('HDEL', K.dedup, dedupKey)
      elseif isTerminal(h[1]) then
        -- Finished: the key is held only by a throttle window still open.
        if mode ~= '' and string.sub(mode, 1, 1) == 't' and h[2] and tonumber(h[2]) > now then
          existing = holder
        end
      elseif mode == 'd' then
        if h[1] ~= 'active' then
          debounce(holder, h[1], first, last, runAt)
          existing = holder
          debounced = true
          -- The holder may be back in line now: no later job of the batch may pass it.
          handoff = false
        end
      else
        existing = holder
      end
    end
  end
  if existing then
    out[#out + 1] = 0
    out[#out + 1] = existing
    out[#out + 1] = redis.call('HGETALL', jobKey(existing))
  else
    local jobSeq = int(seq + j)
    local packed = ARGV[base + 3] .. ' ' .. ARGV[base + 4] .. ' ' .. nowText .. ' ' .. jobSeq .. ' ' .. ARGV[base + 2]
    local runText = int(runAt)
    local leaseMs, workerId
    if runAt > now then
      redis.call('HSET', jk, 'o', packed, 'r', runText, 's', 'delayed', unpack(ARGV, first, last))
      timers[#timers + 1] = runText
      timers[#timers + 1] = id
      delayed[#delayed + 1] = jobSeq
      delayed[#delayed + 1] = pm
    else
      -- A grouped job makes the queue grouped: its claims take turns, which a handoff skips.
      if group ~= '' then handoff = false end
      if handoff then leaseMs, workerId = takeIdleWorker() end
      -- Once a job goes in line, later ones must not pass it.
      if not leaseMs then handoff = false end
    end
    if leaseMs then
      -- Leased as claim-19.lua leases; the entry holds the fields as they were before, as a
      -- claim's reply does (claimedJob in src/codec.ts).
      local tokenPrefix = 'h' .. jobSeq
      local expires = int(now + leaseMs)
      redis.call('HSET', jk, 'o', packed, 'r', runText, 's', 'active', 'a', 1, 'sa', nowText,
        'lt', tokenPrefix .. '.1', 'le', expires, 'w', workerId, unpack(ARGV, first, last))
      leases[#leases + 1] = expires
      leases[#leases + 1] = id
      active[#active + 1] = jobSeq
      active[#active + 1] = pm
      local entry = { id, tokenPrefix, nowText, int(leaseMs), workerId, 'o', packed, 'r', runText, 's', 'waiting' }
      for i = first, last do entry[#entry + 1] = ARGV[i] end
      handed[#handed + 1] = cjson.encode(entry)
    elseif runAt <= now then
      redis.call('HSET', jk, 'o', packed, 'r', runText, 's', 'waiting', unpack(ARGV, first, last))
      if group ~= '' then
        gready[#gready + 1] = 0
        gready[#gready + 1] = groupMember(group, tonumber(ARGV[base + 3]), runAt, seq + j, pm)
        if not turns[group] then
          turns[group] = true
          turns[#turns + 1] = group
        end
      else
        ready[#ready + 1] = readyScore(tonumber(ARGV[base + 3]), runAt)
        ready[#ready + 1] = readyMember(seq + j, id, pm)
      end
      waiting[#waiting + 1] = jobSeq
      waiting[#waiting + 1] = pm
    end
    if group ~= '' then grouped = true end
    if mode ~= '' and string.sub(mode, 1, 1) == 't' then
      redis.call('HSET', jk, 'tu', int(now + tonumber(string.sub(mode, 2))))
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
callMany('ZADD', K.leases, leases)
callMany('ZADD', K.active, active)
if #handed > 0 then callMany('RPUSH', K.handoff, handed) end
if grouped then
  -- From the first grouped job on, claims take turns between groups (settings `grp`).
  redis.call('HSET', K.settings, 'grp', '1')
  callMany('ZADD', K.gready, gready)
  if #turns > 0 then
    local turn = lastTurn()
    for i = 1, #turns do
      redis.call('ZADD', K.gturns, 'NX', turn + i, turns[i])
    end
  end
end
-- A delayed add wakes waiters too: their next claim learns the new nextWakeAt.
if #waiting > 0 or #delayed > 0 or debounced then wake() end
return out
