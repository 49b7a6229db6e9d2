--[[ recover: return jobs whose lease expired to waiting (stalls + 1, same place in line), or
  to dead once they stalled more than maxStalls, recording a StalledError for the attempt.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] leases  KEYS[4] waiting  KEYS[5] active
  KEYS[6] dead  KEYS[7] meta  KEYS[8] settings  KEYS[9] marker  KEYS[10] dedup
  KEYS[11] dlqNames  KEYS[12] dlqErrors  KEYS[13] dlqClasses  KEYS[14] dlqAt
  KEYS[15] gready  KEYS[16] gturns  KEYS[17] gactive  KEYS[18] gcapped
  ARGV[1] maxStalls  ARGV[2] limit
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
return { recovered, dead }
