--[[ advance-schedule: compare-and-set a schedule's next run, so of several schedulers that
  fired the same run exactly one wins.
  KEYS[1] schedules  KEYS[2] scheduleNext
  ARGV[1] id  ARGV[2] expected next run ms  ARGV[3] new next run ms|'null'
  Returns 1 advanced, 0 stale or missing. ]]
if redis.call('HEXISTS', K.schedules, ARGV[1]) == 0 then return 0 end
local current = tonumber(redis.call('HGET', K.scheduleNext, ARGV[1]))
if current == nil or current ~= tonumber(ARGV[2]) then return 0 end
redis.call('HSET', K.scheduleNext, ARGV[1], ARGV[3])
return 1
