--[[ dead-letter-stats: totals of dead jobs from counters kept by every transition into and
  out of dead, so the cost is O(distinct names), not O(dead jobs).
  KEYS[1] jobPrefix  KEYS[2] dead  KEYS[3] dlqNames  KEYS[4] dlqErrors
  Returns {total, {name, count, ...}, {errorName, count, ...}, oldest finishedAt|false,
  newest finishedAt|false}. ]]
-- @include common

local total = redis.call('ZCARD', K.dead)
local oldest = false
local newest = false
if total > 0 then
  -- The dead index is in entry order, which is finishedAt order.
  local first = redis.call('ZRANGE', K.dead, 0, 0)
  local last = redis.call('ZRANGE', K.dead, -1, -1)
  oldest = tonumber(redis.call('HGET', jobKey(unpackId(first[1])), 'f'))
  newest = tonumber(redis.call('HGET', jobKey(unpackId(last[1])), 'f'))
end
return { total, redis.call('HGETALL', K.dlqNames), redis.call('HGETALL', K.dlqErrors), oldest, newest }
