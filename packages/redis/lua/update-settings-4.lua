--[[ update-settings: change queue settings; fields passed as '' keep their value.
  KEYS[1] settings  KEYS[2] starts  KEYS[3] marker  KEYS[4] gstarts
  ARGV[1] paused '0'|'1'|''  ARGV[2] concurrency n|'null'|''
  ARGV[3] rate limit max n|'null'|''  ARGV[4] rate limit windowMs (with ARGV[3] = n)
  ARGV[5] group concurrency n|'null'|''  ARGV[6] group rate limit max n|'null'|''
  ARGV[7] group rate limit windowMs (with ARGV[6] = n)
  Returns {paused, conc, rlMax, rlWin, gconc, grlMax, grlWin} as stored (false for unset).
  Groups set aside at a limit get another look at the next claim when the limit is lifted
  or raised (claim releases them, a bounded number per call); a rate limit that is only
  loosened frees them when their old window would have. ]]
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
if ARGV[5] == 'null' then
  redis.call('HDEL', K.settings, 'gconc')
elseif ARGV[5] ~= '' then
  redis.call('HSET', K.settings, 'gconc', ARGV[5])
end
if ARGV[6] == 'null' then
  redis.call('HDEL', K.settings, 'grlMax', 'grlWin')
elseif ARGV[6] ~= '' then
  redis.call('HSET', K.settings, 'grlMax', ARGV[6], 'grlWin', ARGV[7])
end
local s = redis.call('HMGET', K.settings, 'paused', 'conc', 'rlMax', 'rlWin', 'gconc', 'grlMax', 'grlWin')
-- Starts are recorded only while a limit is set, so a new limit counts from now on.
if not s[3] then redis.call('DEL', K.starts) end
if not s[6] then redis.call('DEL', K.gstarts) end
-- A resume, a higher cap or a looser limit may each make waiting jobs claimable.
if s[1] ~= '1' then wake() end
return s
