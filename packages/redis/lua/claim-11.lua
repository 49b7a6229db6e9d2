--[[ claim: lease up to ARGV[2] due jobs in claim order, honouring the queue's settings.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] leases  KEYS[5] waiting
  KEYS[6] delayed  KEYS[7] active  KEYS[8] meta  KEYS[9] settings  KEYS[10] starts
  KEYS[11] marker
  ARGV[1] workerId  ARGV[2] limit  ARGV[3] leaseMs  ARGV[4] lowest priority|''
  ARGV[5] highest priority|''  ARGV[6] token prefix (random per call; tokens are prefix.i)
  Returns {{id, {field, value, ...}, ...}, nextWakeAt|false}. nextWakeAt (server ms) is set
  when fewer than `limit` were leased: the next delayed run time or the time the rate window
  frees a slot, whichever is first. ]]
-- @include common

local now = nowMs()
promoteDue(now)
local limit = tonumber(ARGV[2])
local leaseMs = tonumber(ARGV[3])
local settings = readSettings()
if settings.paused then return { {}, false } end
local room = roomFor(settings, now, limit)

local members
if room <= 0 then
  members = {}
elseif ARGV[4] == '' then
  members = redis.call('ZRANGE', K.ready, 0, room - 1)
else
  local lowest = tonumber(ARGV[4])
  local highest = tonumber(ARGV[5])
  if lowest > highest then
    members = {}
  else
    -- Priorities lowest..highest span scores [(20 - highest) * SPAN, (21 - lowest) * SPAN).
    members = redis.call('ZRANGE', K.ready, int((20 - highest) * SPAN), '(' .. int((21 - lowest) * SPAN),
      'BYSCORE', 'LIMIT', 0, room)
  end
end

local out = {}
local expires = now + leaseMs
for i, member in ipairs(members) do
  local pm = readyPacked(member)
  local id = unpackId(pm)
  local jk = jobKey(id)
  local token = ARGV[6] .. '.' .. i
  redis.call('ZREM', K.ready, member)
  redis.call('HINCRBY', jk, 'a', 1)
  redis.call('HSET', jk, 'sa', int(now), 'lt', token, 'le', int(expires), 'w', ARGV[1])
  redis.call('ZADD', K.leases, int(expires), id)
  setState(id, jk, 'waiting', 'active', pm)
  if settings.rlMax then redis.call('ZADD', K.starts, int(now), token) end
  out[#out + 1] = id
  out[#out + 1] = redis.call('HGETALL', jk)
end

local wakeAt = false
if settings.rlMax then
  -- Only the newest rlMax starts can decide admission again.
  redis.call('ZREMRANGEBYRANK', K.starts, 0, -(settings.rlMax + 1))
end
if #members < limit then
  wakeAt = nextWakeAt(settings)
elseif limit > 0 and redis.call('ZCARD', K.ready) > 0 then
  -- A full batch with more left: wake another idle worker to help.
  wake()
end
return { out, wakeAt }
