--[[ retry-jobs: move dead or cancelled jobs back to waiting, due now (behind jobs already
  due), attempts and stalls reset, errors kept. A job whose dedup key a live job now holds
  is skipped.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] waiting  KEYS[4] dead  KEYS[5] cancelled
  KEYS[6] dedup  KEYS[7] meta  KEYS[8] marker  KEYS[9] dlqNames  KEYS[10] dlqErrors
  ARGV[1] job count; then 3 per job: id, expected state seq|'', new payload JSON|''
    (the last two from peek-retry when a payload patch applies)
  Returns the ids that moved. ]]
-- @include common

local now = nowMs()
local moved = {}
for i = 0, tonumber(ARGV[1]) - 1 do
  local id = ARGV[2 + i * 3]
  local expected = ARGV[3 + i * 3]
  local payload = ARGV[4 + i * 3]
  local jk = jobKey(id)
  local f = redis.call('HMGET', jk, 's', 'k')
  local state = f[1]
  local ok = state == 'dead' or state == 'cancelled'
  if ok and expected ~= '' then
    ok = tonumber(redis.call('ZSCORE', K[state], packId(id))) == tonumber(expected)
  end
  -- The job is terminal, so whoever holds its key now is another, live job.
  if ok and f[2] and redis.call('HEXISTS', K.dedup, f[2]) == 1 then ok = false end
  if ok then
    if state == 'dead' then countDead(jk, -1) end
    if payload ~= '' then setPayload(jk, payload, true) end
    redis.call('HDEL', jk, 'a', 'sl', 'f', 'rs', 'lt', 'le')
    redis.call('HSET', jk, 'r', int(now))
    local priority, seq = jobInfo(jk)
    addReady(id, priority, now, seq)
    setState(id, jk, state, 'waiting')
    if f[2] then redis.call('HSET', K.dedup, f[2], id) end
    moved[#moved + 1] = id
  end
end
if #moved > 0 then wake() end
return moved
