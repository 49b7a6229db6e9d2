--[[ retry-jobs: move dead or cancelled jobs back to waiting, due now (behind jobs already
  due), attempts and stalls reset, errors kept; each job in one step, so of concurrent calls
  naming a job, one moves it. A job whose dedup key a live job now holds, or that finished
  after asOf, is skipped.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] waiting  KEYS[4] dead  KEYS[5] cancelled
  KEYS[6] dedup  KEYS[7] meta  KEYS[8] marker  KEYS[9] dlqNames  KEYS[10] dlqErrors
  KEYS[11] dlqClasses  KEYS[12] dlqAt  KEYS[13] gready  KEYS[14] gturns
  ARGV[1] job count  ARGV[2] new maxAttempts|''  ARGV[3] asOf ms|''
  then 3 per job: id, expected state seq|'', new payload JSON|''
    (a patched payload comes with the seq peek-retry read it at: it is applied only if the
    job has not left the state since; a replacement payload comes without one)
  Returns the ids that moved. ]]
-- @include common

local now = nowMs()
local maxAttempts = ARGV[2]
local asOf = tonumber(ARGV[3])
local moved = {}
for i = 0, tonumber(ARGV[1]) - 1 do
  local id = ARGV[4 + i * 3]
  local expected = ARGV[5 + i * 3]
  local payload = ARGV[6 + i * 3]
  local jk = jobKey(id)
  local pm = packId(id)
  local f = redis.call('HMGET', jk, 's', 'k', 'f')
  local state = f[1]
  local ok = state == 'dead' or state == 'cancelled'
  if ok and expected ~= '' then
    ok = tonumber(redis.call('ZSCORE', K[state], pm)) == tonumber(expected)
  end
  if ok and asOf and not (tonumber(f[3] or '0') <= asOf) then ok = false end
  -- Skipped when another job that is not finished holds its key (a finished holder only
  -- keeps it for a throttle window, which a replay may take over).
  if ok and f[2] then
    local holder = redis.call('HGET', K.dedup, f[2])
    if holder and holder ~= id then
      local hs = redis.call('HGET', jobKey(holder), 's')
      if hs and not isTerminal(hs) then ok = false end
    end
  end
  if ok then
    if state == 'dead' then countDead(jk, -1, pm) end
    if payload ~= '' then setPayload(jk, payload, true) end
    if maxAttempts ~= '' then
      local o = redis.call('HGET', jk, 'o')
      local p, rest = string.match(o, '^(%d+) %d+ (.*)$')
      redis.call('HSET', jk, 'o', p .. ' ' .. maxAttempts .. ' ' .. rest)
    end
    redis.call('HDEL', jk, 'a', 'sl', 'f', 'rs', 'lt', 'le')
    redis.call('HSET', jk, 'r', int(now))
    local priority, seq, _, group = jobInfo(jk)
    addReady(id, priority, now, seq, pm, group)
    setState(id, jk, state, 'waiting', pm)
    if f[2] then redis.call('HSET', K.dedup, f[2], id) end
    moved[#moved + 1] = id
  end
end
if #moved > 0 then wake() end
return moved
