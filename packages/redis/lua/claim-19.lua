--[[ claim: lease up to ARGV[2] due jobs in claim order, honouring the queue's settings.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] leases  KEYS[5] waiting
  KEYS[6] delayed  KEYS[7] active  KEYS[8] meta  KEYS[9] settings  KEYS[10] starts
  KEYS[11] marker  KEYS[12] gready  KEYS[13] gturns  KEYS[14] gactive  KEYS[15] gcapped
  KEYS[16] grated  KEYS[17] gstarts  KEYS[18] handoff  KEYS[19] idle
  ARGV[1] workerId  ARGV[2] limit  ARGV[3] leaseMs  ARGV[4] lowest priority|''
  ARGV[5] highest priority|''  ARGV[6] token prefix (unique per call; tokens are prefix.i)
  Returns {{id, {field, value, ...}, ...}, nextWakeAt|false, now}. Each job's fields are
  those it had before this claim; the client applies what the claim changed (claimedJob in
  src/codec.ts): state active, attempts + 1, startedAt now, lease token prefix.i for the
  i-th job returned, lease expiry now + leaseMs, workerId. So each hash is read once and
  written once.
  nextWakeAt (server ms) is set when fewer than `limit` were leased: the next delayed run
  time or the time the rate window frees a slot, whichever is first.
  Once the queue has seen a grouped job (settings `grp`), a claim without a priority range
  takes turns between groups (lua/includes/turns.lua); before that, and for a queue that
  never has one, it pops `ready` as it always did. A priority range takes ungrouped jobs
  only.
  Jobs an add handed off that no waiting worker took go back in line first, and the
  claiming worker's registration as a waiting one ends (lua/includes/handoff.lua). ]]
-- @include common
-- @include turns
-- @include handoff

local now = nowMs()
promoteDue(now)
returnHandoffs()
-- A claiming worker is not waiting: no job is handed to it until it registers again.
redis.call('ZREM', K.idle, ARGV[3] .. '|' .. ARGV[1])
local limit = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
local settings = readSettings()
if settings.paused then return { {}, false, now } end
local room = roomFor(settings, now, limit)

-- Packed ids of the jobs to lease, in order.
local members = {}
if room <= 0 then
  members = {}
elseif ARGV[4] ~= '' then
  local lowest = tonumber(ARGV[4])
  local highest = tonumber(ARGV[5])
  if lowest <= highest then
    -- Priorities lowest..highest span scores [(20 - highest) * SPAN, (21 - lowest) * SPAN).
    local found = redis.call('ZRANGE', K.ready, int((20 - highest) * SPAN), '(' .. int((21 - lowest) * SPAN),
      'BYSCORE', 'LIMIT', 0, room)
    callMany('ZREM', K.ready, found)
    for i = 1, #found do members[i] = string.sub(found[i], 7) end
  end
elseif settings.grouped then
  members = takeTurns(settings, now, room, ARGV[6])
else
  -- Take them off ready at once: member, score, member, score, ...
  local popped = redis.call('ZPOPMIN', K.ready, room)
  for i = 1, #popped, 2 do members[#members + 1] = string.sub(popped[i], 7) end
end

-- Per job: one HGETALL and one HSET. The index updates go out once per call, many members
-- at a time (callMany), with one seq range for the active index.
local out = {}
local n = #members
local nowText = int(now)
local expires = int(now + leaseMs)
local workerId = ARGV[1]
local tokenPrefix = ARGV[6] .. '.'
local leased, packed, active, starts = {}, {}, {}, {}
local seq = 0
local got = 0
if n > 0 then seq = nextSeqs(n) end
for i = 1, n do
  local pm = members[i]
  local id = unpackId(pm)
  local jk = K.jobPrefix .. id
  local h = redis.call('HGETALL', jk)
  packed[i] = pm
  if #h > 0 then
    local attempts = 0
    for j = 1, #h, 2 do
      if h[j] == 'a' then
        attempts = tonumber(h[j + 1])
        break
      end
    end
    got = got + 1
    local token = tokenPrefix .. got
    redis.call('HSET', jk, 's', 'active', 'a', attempts + 1, 'sa', nowText, 'lt', token, 'le', expires, 'w', workerId)
    leased[#leased + 1] = expires
    leased[#leased + 1] = id
    active[#active + 1] = int(seq + got)
    active[#active + 1] = pm
    if settings.rlMax then
      starts[#starts + 1] = nowText
      starts[#starts + 1] = token
    end
    out[#out + 1] = id
    out[#out + 1] = h
  end
  -- A ready entry without its hash (deleted outside QueueFlow) is dropped, not leased.
end
if n > 0 then
  callMany('ZREM', K.waiting, packed)
  callMany('ZADD', K.leases, leased)
  callMany('ZADD', K.active, active)
  callMany('ZADD', K.starts, starts)
end

local wakeAt = false
if settings.rlMax then
  -- Only the newest rlMax starts can decide admission again.
  redis.call('ZREMRANGEBYRANK', K.starts, 0, -(settings.rlMax + 1))
end
if n < limit then
  wakeAt = nextWakeAt(settings)
elseif limit > 0 and (redis.call('ZCARD', K.ready) > 0 or (settings.grouped and redis.call('ZCARD', K.gturns) > 0)) then
  -- A full batch with more left: wake another idle worker to help.
  wake()
end
return { out, wakeAt, now }
