--[[ progress: store progress on an active job, fenced by its lease token.
  KEYS[1] jobPrefix
  ARGV[1] id  ARGV[2] token  ARGV[3] progress JSON
  Returns 1 stored, 0 stale token. ]]
-- @include common

local jk = jobKey(ARGV[1])
local f = redis.call('HMGET', jk, 's', 'lt')
if f[1] ~= 'active' or f[2] ~= ARGV[2] then return 0 end
if ARGV[3] == 'null' then redis.call('HDEL', jk, 'pg') else redis.call('HSET', jk, 'pg', ARGV[3]) end
return 1
