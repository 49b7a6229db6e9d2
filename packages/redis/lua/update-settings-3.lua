--[[ update-settings: change queue settings; fields passed as '' keep their value.
  KEYS[1] settings  KEYS[2] starts  KEYS[3] marker
  ARGV[1] paused '0'|'1'|''  ARGV[2] concurrency n|'null'|''
  ARGV[3] rate limit max n|'null'|''  ARGV[4] rate limit windowMs (with ARGV[3] = n)
  Returns {paused, conc, rlMax, rlWin} as stored (false for unset). ]]
-- @include common

if ARGV[1] == '1' then
  redis.call('HSET', K.settings, 'paused', '1')
elseif ARGV[1] == '0' then
  redis.call('HDEL', K.settings, 'paused')
end
if ARGV[2] == 'null' then
  redis.call('HDEL', K.settings, 'conc')
elseif ARGV[2] ~= '' then
  redis.call('HSET', K.settings, 'conc', ARGV[2])
end
if ARGV[3] == 'null' then
  redis.call('HDEL', K.settings, 'rlMax', 'rlWin')
elseif ARGV[3] ~= '' then
  redis.call('HSET', K.settings, 'rlMax', ARGV[3], 'rlWin', ARGV[4])
end
local s = redis.call('HMGET', K.settings, 'paused', 'conc', 'rlMax', 'rlWin')
-- Starts are recorded only while a limit is set, so a new limit counts from now on.
if not s[3] then redis.call('DEL', K.starts) end
-- A resume, a higher cap or a looser limit may each make waiting jobs claimable.
if s[1] ~= '1' then wake() end
return s
