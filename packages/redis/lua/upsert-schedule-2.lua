--[[ upsert-schedule: create or replace a schedule by id.
  KEYS[1] schedules  KEYS[2] scheduleNext
  ARGV[1] id  ARGV[2] record JSON without nextRunAt  ARGV[3] nextRunAt ms|'null'
  Returns 1. ]]
redis.call('HSET', K.schedules, ARGV[1], ARGV[2])
redis.call('HSET', K.scheduleNext, ARGV[1], ARGV[3])
return 1
