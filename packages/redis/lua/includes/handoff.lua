--[[ handoff: an add hands a new job straight to a worker blocked waiting for one.
  Uses K.idle, K.handoff, K.settings, K.ready, K.timers (add) and K.handoff, K.leases,
  K.active, K.waiting, K.ready (claim).

  A worker that found nothing to claim registers in `idle` (has-work) before it blocks on
  `handoff` and `marker`. An add whose job would be the next one claimed (the queue enforces
  nothing: not paused, no cap, no rate limit, no groups; nothing due is ahead of it) leases
  it to a registered worker as a claim would, and pushes it onto `handoff`, so the blocked
  worker starts it on the reply of its blocking pop: one round trip from add to start where
  a wake-up costs two (the pop, then a claim).

  A registration is taken by one add and otherwise lapses at its score (the wait's end), so
  a worker that died waiting captures no job after that. A job pushed for a worker that no
  longer waits (its wait ended, or it died) is taken by another waiting worker's pop, or put
  back in line by the next claim of any worker (returnHandoffs): it is never left to its
  lease. Entries whose job moved on (cancelled, removed, recovered) are dropped. ]]

-- Jobs an add may hand off now: false unless a worker is registered and the queue enforces
-- nothing a claim would check.
local function handoffOpen(now)
  redis.call('ZREMRANGEBYSCORE', K.idle, '-inf', now)
  if redis.call('ZCARD', K.idle) == 0 then return false end
  local s = redis.call('HMGET', K.settings, 'paused', 'conc', 'rlMax', 'grp')
  if s[1] == '1' or s[2] or s[3] or s[4] == '1' then return false end
  -- Claim order: a job already due, or falling due, goes first.
  if redis.call('ZCARD', K.ready) > 0 then return false end
  if #redis.call('ZRANGE', K.timers, '-inf', now, 'BYSCORE', 'LIMIT', 0, 1) > 0 then return false end
  return true
end

-- Take one registered worker: its leaseMs and workerId, or nil when none is left.
local function takeIdleWorker()
  local popped = redis.call('ZPOPMAX', K.idle)
  if #popped == 0 then return nil end
  local leaseMs, workerId = string.match(popped[1], '^(%d+)|(.*)$')
  return tonumber(leaseMs), workerId
end

-- Put back in line the handed-off jobs no waiting worker took (at most 100 per call).
local function returnHandoffs()
  if redis.call('LLEN', K.handoff) == 0 then return end
  local entries = redis.call('LPOP', K.handoff, 100)
  for i = 1, #entries do
    local entry = cjson.decode(entries[i])
    local id = entry[1]
    local jk = K.jobPrefix .. id
    local f = redis.call('HMGET', jk, 's', 'lt')
    if f[1] == 'active' and f[2] == entry[2] .. '.1' then
      local pm = packId(id)
      redis.call('ZREM', K.leases, id)
      redis.call('ZREM', K.active, pm)
      redis.call('HDEL', jk, 'lt', 'le', 'w', 'sa')
      if redis.call('HINCRBY', jk, 'a', -1) <= 0 then redis.call('HDEL', jk, 'a') end
      local priority, seq, _, _, runAt = jobInfo(jk)
      addReady(id, priority, runAt, seq, pm, nil)
      setState(id, jk, nil, 'waiting', pm)
    end
  end
end
