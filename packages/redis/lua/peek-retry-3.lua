--[[ peek-retry: what retryJobs with a payload patch needs to compute the patched payloads.
  KEYS[1] jobPrefix  KEYS[2] dead  KEYS[3] cancelled
  ARGV: ids
  Returns per id {seq of its entry into dead or cancelled, payload JSON}, or {false, false}
  for a job in any other state. retry-jobs applies the patch only if the job still has that
  seq: it has not left the state (and come back) in between. ]]
-- @include common

local out = {}
for i, id in ipairs(ARGV) do
  local jk = jobKey(id)
  local state = redis.call('HGET', jk, 's')
  if state == 'dead' or state == 'cancelled' then
    out[i] = { redis.call('ZSCORE', K[state], packId(id)), getPayload(jk) }
  else
    out[i] = { false, false }
  end
end
return out
