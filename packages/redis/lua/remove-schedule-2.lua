--[[ remove-schedule: delete a schedule.
  KEYS[1] schedules  KEYS[2] scheduleNext
  ARGV[1] id
  Returns 1 removed, 0 not found. ]]
redis.call('HDEL', K.scheduleNext, ARGV[1])
return redis.call('HDEL', K.schedules, ARGV[1])
