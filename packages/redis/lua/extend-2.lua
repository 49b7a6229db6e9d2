--[[ extend: push leases out to leaseMs from now, each fenced by its token.
  KEYS[1] jobPrefix  KEYS[2] leases
  ARGV[1] leaseMs  ARGV[2] lease count; then 2 per lease: id, token
  Returns one integer per lease in input order: 1 extended, 0 stale token. ]]
-- @include common

local now = nowMs()
local expires = int(now + tonumber(ARGV[1]))
local out = {}
for i = 0, tonumber(ARGV[2]) - 1 do
  local id = ARGV[3 + i * 2]
  local jk = jobKey(id)
  local f = redis.call('HMGET', jk, 's', 'lt')
  if f[1] == 'active' and f[2] == ARGV[4 + i * 2] then
    redis.call('HSET', jk, 'le', expires)
    redis.call('ZADD', K.leases, expires, id)
    out[#out + 1] = 1
  else
    out[#out + 1] = 0
  end
end
return out
