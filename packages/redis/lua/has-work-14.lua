--[[ has-work: whether a claim now would lease at least one job (ignoring priority ranges).
  waitForWork asks this before it blocks, so work that arrived between a worker's empty
  claim and its wait is not missed.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] waiting  KEYS[5] delayed
  KEYS[6] meta  KEYS[7] marker  KEYS[8] settings  KEYS[9] leases  KEYS[10] starts
  KEYS[11] gready  KEYS[12] gturns  KEYS[13] grated  KEYS[14] idle
  ARGV[1] registration ('' for none): "<leaseMs>|<workerId>" of a worker that takes jobs
  handed off while it waits (lua/includes/handoff.lua)  ARGV[2] its wait, ms
  Returns {1} when work is claimable. Else {0, ms until the next delayed job falls due or
  the rate window frees a slot | false}, and the marker list is emptied: a marker left
  there was pushed when no one was blocked and the work it announced is not claimable
  (paused, capped, or already taken), and the caller's wait is bounded by the time returned,
  so dropping it loses no wake-up. Everything that changes this answer later pushes afresh.
  With a registration, the worker is also registered in `idle` until its wait ends. ]]
-- @include common

local now = nowMs()
promoteDue(now)
local settings = readSettings()
local due = redis.call('ZCARD', K.ready) > 0
-- With groups, a group with a turn may have a job to start (the claim sets aside those at a
-- limit, so this converges), and so may a rated group whose window has freed.
if not due and settings.grouped then
  due = redis.call('ZCARD', K.gturns) > 0 or #redis.call('ZRANGE', K.grated, '-inf', now, 'BYSCORE', 'LIMIT', 0, 1) > 0
end
if due and roomFor(settings, now, 1) > 0 then return { 1 } end
redis.call('DEL', K.marker)
local wakeAt = nextWakeAt(settings)
if wakeAt then wakeAt = math.max(0, wakeAt - now) end
if ARGV[1] ~= '' then
  local wait = tonumber(ARGV[2])
  if wakeAt then wait = math.min(wait, wakeAt + 1) end
  redis.call('ZADD', K.idle, now + wait, ARGV[1])
end
return { 0, wakeAt }
