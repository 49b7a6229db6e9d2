--[[ turns: the claim's rotation between groups (include after common; the claim only).
  Each turn is O(log n): the head of gturns, the head of that group's line in gready, its
  active count and (with a group rate limit) its window in gstarts. A group found at a
  limit is set aside (gcapped, grated) and not looked at again until a slot frees, so the
  cost per job claimed does not grow with the number of groups or any group's backlog. ]]

-- Turns looked at beyond the jobs a claim may take: groups found empty or at a limit on the
-- way. Bounds one call; the next call continues where this one stopped.
local LOOK_MAX = 1000

-- When `group`'s rate window next admits a start, or false if it admits one now. Prunes
-- the group's starts that left the window (now - window, now].
local function groupRateFreeAt(group, max, window, now)
  if max <= 0 then return now + window end
  local lo = '[' .. group .. '\0'
  local hi = '(' .. group .. '\1'
  redis.call('ZREMRANGEBYLEX', K.gstarts, lo, '(' .. group .. '\0' .. bytes6(now - window + 1))
  local count = redis.call('ZLEXCOUNT', K.gstarts, lo, hi)
  if count < max then return false end
  local blocking = redis.call('ZRANGE', K.gstarts, lo, hi, 'BYLEX', 'LIMIT', count - max, 1)
  return unbytes6(string.sub(blocking[1], #group + 2, #group + 7)) + window
end

-- Groups set aside whose limit no longer holds take turns again, a bounded number per call.
local function releaseGroups(settings, now)
  local turn = lastTurn()
  local rated = redis.call('ZRANGE', K.grated, '-inf', settings.grlMax and now or '+inf', 'BYSCORE', 'LIMIT', 0, LOOK_MAX)
  local capped = redis.call('ZRANGE', K.gcapped, '-inf', settings.gconc and '(' .. settings.gconc or '+inf', 'BYSCORE',
    'LIMIT', 0, LOOK_MAX)
  for _, g in ipairs(rated) do
    redis.call('ZREM', K.grated, g)
    turn = turn + 1
    redis.call('ZADD', K.gturns, 'NX', turn, g)
  end
  for _, g in ipairs(capped) do
    redis.call('ZREM', K.gcapped, g)
    turn = turn + 1
    redis.call('ZADD', K.gturns, 'NX', turn, g)
  end
  -- The ungrouped jobs take their turn as one more group.
  if redis.call('ZCARD', K.ready) > 0 then redis.call('ZADD', K.gturns, 'NX', turn + 1, '') end
end

-- Take up to `room` jobs by turns. Returns their packed ids, and counts each grouped start
-- (gactive, gstarts; `tokenPrefix` keeps start members unique).
local function takeTurns(settings, now, room, tokenPrefix)
  releaseGroups(settings, now)
  local pms = {}
  local turn = lastTurn()
  local looked = 0
  local gconc, grlMax, grlWin = settings.gconc, settings.grlMax, settings.grlWin
  while #pms < room and looked < room + LOOK_MAX do
    looked = looked + 1
    local head = redis.call('ZRANGE', K.gturns, 0, 0)
    if #head == 0 then break end
    local g = head[1]
    if g == '' then
      local popped = redis.call('ZPOPMIN', K.ready)
      if #popped == 0 then
        redis.call('ZREM', K.gturns, g)
      else
        pms[#pms + 1] = string.sub(popped[1], 7)
        turn = turn + 1
        redis.call('ZADD', K.gturns, turn, g)
      end
    else
      local line = redis.call('ZRANGE', K.gready, '[' .. g .. '\0', '(' .. g .. '\1', 'BYLEX', 'LIMIT', 0, 1)
      if #line == 0 then
        redis.call('ZREM', K.gturns, g)
      elseif gconc and tonumber(redis.call('HGET', K.gactive, g) or '0') >= gconc then
        redis.call('ZREM', K.gturns, g)
        redis.call('ZADD', K.gcapped, gconc, g)
      else
        local freeAt = grlMax and groupRateFreeAt(g, grlMax, grlWin, now)
        if freeAt then
          redis.call('ZREM', K.gturns, g)
          redis.call('ZADD', K.grated, freeAt, g)
        else
          redis.call('ZREM', K.gready, line[1])
          pms[#pms + 1] = string.sub(line[1], #g + 14)
          redis.call('HINCRBY', K.gactive, g, 1)
          if grlMax then
            redis.call('ZADD', K.gstarts, 0, g .. '\0' .. bytes6(now) .. tokenPrefix .. #pms)
          end
          -- To the back of the rotation; its limits are checked when its turn comes again.
          turn = turn + 1
          redis.call('ZADD', K.gturns, turn, g)
        end
      end
    end
  end
  return pms
end
