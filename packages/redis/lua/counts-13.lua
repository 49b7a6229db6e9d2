--[[ counts: exact number of jobs per state; due delayed jobs count as waiting.
  KEYS[1] jobPrefix  KEYS[2] ready  KEYS[3] timers  KEYS[4] waiting  KEYS[5] delayed
  KEYS[6] active  KEYS[7] completed  KEYS[8] dead  KEYS[9] cancelled  KEYS[10] meta
  KEYS[11] marker  KEYS[12] gready  KEYS[13] gturns
  Returns {waiting, delayed, active, completed, dead, cancelled}. ]]
-- @include common

local now = nowMs()
promoteDue(now)
-- Due jobs beyond one call's promotion bound still count as waiting: ZCOUNT is O(log n).
local due = redis.call('ZCOUNT', K.timers, '-inf', now)
return {
  redis.call('ZCARD', K.waiting) + due,
  redis.call('ZCARD', K.delayed) - due,
  redis.call('ZCARD', K.active),
  redis.call('ZCARD', K.completed),
  redis.call('ZCARD', K.dead),
  redis.call('ZCARD', K.cancelled),
}
