--[[ dead-letter-stats: totals of dead jobs from counters kept by every transition into and
  out of dead (lua/includes/common.lua, countDead), so the cost is O(distinct names and
  classes + buckets * log n), not O(dead jobs).
  KEYS[1] dead  KEYS[2] dlqNames  KEYS[3] dlqErrors  KEYS[4] dlqClasses  KEYS[5] dlqAt
  ARGV: the upper bounds of the age buckets in ms, ascending (DEAD_LETTER_AGE_BUCKETS_MS)
  Returns {total, {name, count, ...}, {errorName, count, ...}, {errorClass, count, ...},
  oldest finishedAt|false, newest finishedAt|false, {count per bucket, then the open one}}. ]]
-- @include common

local now = nowMs()
local total = redis.call('ZCARD', K.dead)
local oldest = false
local newest = false
local first = redis.call('ZRANGE', K.dlqAt, 0, 0, 'WITHSCORES')
if #first > 0 then
  oldest = tonumber(first[2])
  newest = tonumber(redis.call('ZRANGE', K.dlqAt, -1, -1, 'WITHSCORES')[2])
end
-- A job dead for age ms is in the first bucket whose bound exceeds age: finishedAt in
-- (now - bound, now - previous bound]. Jobs finished after now count as age 0.
local ages = {}
local upper = '+inf'
for i = 1, #ARGV do
  local lower = now - tonumber(ARGV[i])
  ages[i] = redis.call('ZCOUNT', K.dlqAt, '(' .. int(lower), upper)
  upper = int(lower)
end
ages[#ARGV + 1] = redis.call('ZCOUNT', K.dlqAt, '-inf', upper)
return { total, redis.call('HGETALL', K.dlqNames), redis.call('HGETALL', K.dlqErrors),
  redis.call('HGETALL', K.dlqClasses), oldest, newest, ages }
