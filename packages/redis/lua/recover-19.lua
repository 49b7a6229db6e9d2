--[[ recover: return jobs whose lease expired to waiting (stalls + 1, same place in line), or
  to dead once they stalled more than maxStalls, recording a StalledError for the attempt.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] leases  KEYS[4] waiting  KEYS[5] active
  KEYS[6] dead  KEYS[7] meta  KEYS[8] settings  KEYS[9] marker  KEYS[10] dedup
  KEYS[11] dlqNames  KEYS[12] dlqErrors  KEYS[13] dlqClasses  KEYS[14] dlqAt
  KEYS[15] gready  KEYS[16] gturns  KEYS[17] gactive  KEYS[18] gcapped  KEYS[19] gstarts
  ARGV[1] maxStalls  ARGV[2] limit
  Also sweeps the group rate windows: a group's old starts are pruned when it next takes a
  turn, which a group that went idle for good never does. Each call looks at SWEEP_MAX
  gstarts members from a cursor (meta `gsweep`, the last member looked at) and drops those
  outside the window; the cursor wraps at the end, so every member is looked at within
  (members / SWEEP_MAX) calls.
  Returns {{recovered ids}, {dead ids}}. ]]
-- @include common

local now = nowMs()
local maxStalls = tonumber(ARGV[1])
local limit = tonumber(ARGV[2])
local recovered = {}
local dead = {}
if limit > 0 then
  -- Expired means strictly before now, as the memory adapter has it.
  local expired = redis.call('ZRANGE', K.leases, '-inf', '(' .. int(now), 'BYSCORE', 'LIMIT', 0, limit)
  for _, id in ipairs(expired) do
    local jk = jobKey(id)
    local stalls = redis.call('HINCRBY', jk, 'sl', 1)
    leaveQueue(id, jk, 'active')
    if stalls > maxStalls then
      local attempts = tonumber(redis.call('HGET', jk, 'a') or '0')
      appendError(jk, '{"attempt":' .. int(attempts) .. ',"name":"StalledError","message":"lease expired '
        .. int(stalls) .. ' times; worker probably crashed or blocked the event loop","at":' .. int(now)
        .. ',"errorClass":"stalled"}', 'StalledError', 'stalled')
      redis.call('HSET', jk, 'f', int(now))
      setState(id, jk, 'active', 'dead')
      releaseDedup(id, jk, now)
      countDead(jk, 1, packId(id), int(now))
      dead[#dead + 1] = id
    else
      -- runAt and seq are kept, so the job goes back to its old place in line.
      local priority, seq, _, group, runAt = jobInfo(jk)
      addReady(id, priority, runAt, seq, nil, group)
      setState(id, jk, 'active', 'waiting')
      recovered[#recovered + 1] = id
    end
  end
end
local capped = false
if #dead > 0 then
  local s = redis.call('HMGET', K.settings, 'conc', 'gconc')
  capped = s[1] or s[2]
end
if #recovered > 0 or capped then wake() end

local SWEEP_MAX = 200
local window = tonumber(redis.call('HGET', K.settings, 'grlWin'))
if window then
  local cursor = redis.call('HGET', K.meta, 'gsweep')
  local members = redis.call('ZRANGE', K.gstarts, cursor and '(' .. cursor or '-', '+', 'BYLEX', 'LIMIT', 0, SWEEP_MAX)
  local old = {}
  for _, m in ipairs(members) do
    -- member = group .. "\0" .. 6-byte start time .. token; group names hold no "\0".
    local at = string.find(m, '\0', 1, true)
    if unbytes6(string.sub(m, at + 1, at + 6)) <= now - window then old[#old + 1] = m end
  end
  callMany('ZREM', K.gstarts, old)
  if #members < SWEEP_MAX then
    redis.call('HDEL', K.meta, 'gsweep')
  else
    redis.call('HSET', K.meta, 'gsweep', members[#members])
  end
end
return { recovered, dead }
