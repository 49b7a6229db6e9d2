--[[ common: helpers every script shares (inlined by scripts/gen-lua.mjs).
  Uses K, the table the generator builds from the script's KEYS header.

  Memory layout (scripts/measure-memory.mjs measures it; the README has the figures). A
  waiting job is its hash, one `ready` entry and one `waiting` entry; each is kept small:

  Job hash fields (absent = the default in parentheses):
    o  "<priority> <maxAttempts> <createdAt> <insertion seq> <name>": the fields no
       transition changes, packed into one: every field costs a few bytes of its own.
    d  payload JSON, cut into chunks of at most CHUNK bytes (on UTF-8 character bounds):
       d, d1, d2, ... in order (setPayload, getPayload). Redis keeps a hash whose values are
       all <= 64 bytes (hash-max-listpack-value) as one compact listpack; a single longer
       value turns it into a hashtable, which costs ~50 bytes per field more. Payloads over
       CHUNKED_MAX bytes stay one field: their hash is large anyway.
    s state  r runAt  a attempts (0)  b backoff (null; compact text or JSON, see codec.ts)
    t timeoutMs (null)  k dedupKey (null)  md metadata JSON ({})  sa startedAt (null)
    f finishedAt (null)  lt leaseToken (null)  le leaseExpiresAt (null)  w workerId (null)
    pg progress JSON (null)  rs result JSON (null)  e errors JSON array ([])
    en latest error name (null)  ec latest error class (null; "unknown" when en is set)
    sl stalls (0)  g group (none)  tu throttle: the dedup key is held until this time (none)

  Index members: `ready` and the state indexes (waiting ... cancelled) hold packed ids
  (packId): a canonical lowercase UUID, core's default id, is stored as "\0" and its 16
  bytes; any other id as it is (ids never contain "\0"). That keeps each member within a
  smaller allocation. Hot scripts (add, settle) get packed ids from the client (packId in
  src/codec.ts); ids are unpacked before they leave a script: replies carry plain ids.

  Claim order (ready ZSET): priority high to low, then runAt, then insertion, made exact:
    score  = (20 - priority) * 2^42 + clamp(runAt, 0, 2^42 - 1)
    member = the insertion seq as 6 bytes, big-endian .. packId(id)
  2^42 ms reaches the year 2109 and 21 * 2^42 < 2^53, so every score is an integer a double
  holds exactly: no two (priority, runAt) pairs collide. Equal scores are ordered by member
  bytes, and the fixed-width big-endian seq makes that insertion order (up to 2^48 jobs a
  queue). A runAt before 1970 or after 2109 is clamped for ordering only; the job keeps its
  runAt.

  Groups (only for grouped jobs; a queue that never saw one touches none of these keys):
    gready  lex ZSET, every score 0, member = group .. "\0" .. 6 bytes of the claim-order
            score above .. the 6-byte seq .. packId(id). Group names are letters, digits and
            "_.:@+-" (core checks), so "\0" ends the name, and a group's jobs are the range
            ["<group>\0", "<group>\1"), in claim order: its head is one ZRANGE BYLEX.
    gturns  ZSET group -> turn counter: the rotation. The lowest score takes the next turn
            and goes to the back. "" is the ungrouped jobs' turn (they stay in `ready`).
            A group may sit here with nothing due: the claim drops it when its turn comes.
    gactive HASH group -> jobs active.  gcapped ZSET group -> the cap it was found at.
    grated  ZSET group -> when its rate window frees.
    gstarts lex ZSET, member = group .. "\0" .. 6-byte start time .. token. ]]

local SPAN = 4398046511104 -- 2^42
-- Due delayed jobs moved to ready per call: bounds each script's run time. Counts stay exact
-- beyond it (see counts); claim order may lag by one call when more fell due at once.
local PROMOTE_MAX = 1000

local function nowMs()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

-- Integers as plain digits: Lua's own tostring switches to exponents past 14 digits.
local function int(x)
  return string.format('%d', x)
end

local function jobKey(id)
  return K.jobPrefix .. id
end

-- Payload chunks (see the header): at most CHUNK bytes each, at most CHUNKED_MAX in all.
local CHUNK = 64
local CHUNKED_MAX = 1024
-- A chunk holds at least CHUNK - 3 bytes unless it is the last: 17 fields hold CHUNKED_MAX.
-- Literal, like UUID below: this code runs on every call, so it builds no strings it need not.
local CHUNK_FIELDS = { 'd', 'd1', 'd2', 'd3', 'd4', 'd5', 'd6', 'd7', 'd8', 'd9', 'd10', 'd11', 'd12', 'd13',
  'd14', 'd15', 'd16' }

-- Store a payload; `replace` first deletes the chunks of an earlier one. The add script takes
-- its chunks ready-made from the client (chunkPayload in src/codec.ts, the same rule).
local function setPayload(jk, json, replace)
  local n = #json
  local args = { 'd', json }
  if n > CHUNK and n <= CHUNKED_MAX then
    args = {}
    local from = 1
    while from <= n do
      local to = math.min(from + CHUNK - 1, n)
      -- Never end a chunk inside a UTF-8 sequence: clients decode each value as UTF-8.
      while to < n do
        local b = string.byte(json, to + 1)
        if b < 128 or b >= 192 then break end
        to = to - 1
      end
      args[#args + 1] = CHUNK_FIELDS[#args / 2 + 1]
      args[#args + 1] = string.sub(json, from, to)
      from = to + 1
    end
  end
  if replace then redis.call('HDEL', jk, unpack(CHUNK_FIELDS)) end
  redis.call('HSET', jk, unpack(args))
end

local function getPayload(jk)
  local parts = redis.call('HMGET', jk, unpack(CHUNK_FIELDS))
  local out = {}
  for i = 1, #parts do
    if not parts[i] then break end
    out[i] = parts[i]
  end
  if #out == 0 then return false end
  return table.concat(out)
end

-- Priority, insertion seq and name from a job's packed `o` field, its group (or nil) and
-- runAt: one call.
local function jobInfo(jk)
  local f = redis.call('HMGET', jk, 'o', 'g', 'r')
  local priority, seq, name = string.match(f[1], '^(%d+) %d+ %d+ (%d+) (.*)$')
  return tonumber(priority), tonumber(seq), name, f[2] or nil, tonumber(f[3])
end

local function readyScore(priority, runAt)
  local r = runAt
  if r < 0 then r = 0 elseif r >= SPAN then r = SPAN - 1 end
  return int((20 - priority) * SPAN + r)
end

local UUID = '^%x%x%x%x%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%-%x%x%x%x%x%x%x%x%x%x%x%x$'

-- Per-job string work runs in Redis' single thread, so these stay to a few C calls each:
-- no per-byte Lua loops or closures. Hot paths get packed ids from the client instead
-- (packId in src/codec.ts, the same encoding) and pass them as `pm`.

-- The four bytes of a 32-bit integer, big-endian.
local function bytes4(x)
  local a = math.floor(x / 16777216)
  x = x - a * 16777216
  local b = math.floor(x / 65536)
  x = x - b * 65536
  local c = math.floor(x / 256)
  return a, b, c, x - c * 256
end

-- An id as index members hold it (see the header): a lowercase UUID as "\0" .. 16 bytes.
local function packId(id)
  if #id ~= 36 or not string.find(id, UUID) or string.find(id, '%u') then return id end
  local sub = string.sub
  local a1, a2, a3, a4 = bytes4(tonumber(sub(id, 1, 8), 16))
  local b1, b2, b3, b4 = bytes4(tonumber(sub(id, 10, 13) .. sub(id, 15, 18), 16))
  local c1, c2, c3, c4 = bytes4(tonumber(sub(id, 20, 23) .. sub(id, 25, 28), 16))
  local d1, d2, d3, d4 = bytes4(tonumber(sub(id, 29, 36), 16))
  return string.char(0, a1, a2, a3, a4, b1, b2, b3, b4, c1, c2, c3, c4, d1, d2, d3, d4)
end

local UUID_FORMAT = '%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x'

local function unpackId(member)
  if string.byte(member, 1) ~= 0 then return member end
  return string.format(UUID_FORMAT, string.byte(member, 2, 17))
end

-- An integer below 2^48 as 6 bytes, big-endian, and back.
local function bytes6(x)
  local hi = math.floor(x / 16777216)
  local _, a, b, c = bytes4(hi)
  local _, d, e, f = bytes4(x - hi * 16777216)
  return string.char(a, b, c, d, e, f)
end

local function unbytes6(s)
  local a, b, c, d, e, f = string.byte(s, 1, 6)
  return ((((a * 256 + b) * 256 + c) * 256 + d) * 256 + e) * 256 + f
end

-- `pm` is packId(id) when the caller has it already.
local function readyMember(seq, id, pm)
  return bytes6(seq) .. (pm or packId(id))
end

-- A grouped waiting job's gready member (see the header).
local function groupMember(group, priority, runAt, seq, pm)
  local r = runAt
  if r < 0 then r = 0 elseif r >= SPAN then r = SPAN - 1 end
  return group .. '\0' .. bytes6((20 - priority) * SPAN + r) .. bytes6(seq) .. pm
end

-- The last turn handed out (0 when the rotation is empty).
local function lastTurn()
  local last = redis.call('ZRANGE', K.gturns, -1, -1, 'WITHSCORES')
  if #last == 0 then return 0 end
  return tonumber(last[2])
end

-- Give a group (or "", the ungrouped jobs) a turn at the back, unless it has one.
local function enroll(group)
  redis.call('ZADD', K.gturns, 'NX', lastTurn() + 1, group)
end

-- A grouped job left active: count it, and a group set aside at its cap takes turns again.
local function leaveActive(group)
  if redis.call('HINCRBY', K.gactive, group, -1) <= 0 then redis.call('HDEL', K.gactive, group) end
  if redis.call('ZREM', K.gcapped, group) == 1 then enroll(group) end
end

-- The packed id of a ready member.
local function readyPacked(member)
  return string.sub(member, 7)
end

local function nextSeq()
  return redis.call('HINCRBY', K.meta, 'seq', 1)
end

-- Take n seqs at once: returns base, and the seqs are base + 1 .. base + n.
local function nextSeqs(n)
  return redis.call('HINCRBY', K.meta, 'seq', n) - n
end

-- Members (or score, member pairs) per command in callMany: keeps unpack well inside Lua's
-- stack limit (8000), and even, so pairs are never split.
local MANY = 1000

-- Run `cmd key args...` once per MANY args: one call for a whole batch instead of one per job.
local function callMany(cmd, key, args)
  local n = #args
  for from = 1, n, MANY do
    redis.call(cmd, key, unpack(args, from, math.min(from + MANY - 1, n)))
  end
end

-- Wake one blocked waitForWork. One entry is enough: a woken worker that claims a full batch
-- pushes again (claim), so wake-ups chain through idle workers without a burst of markers.
-- A marker already there (nobody has taken it) is left as it is: one call, not two.
local function wake()
  if redis.call('LLEN', K.marker) == 0 then redis.call('LPUSH', K.marker, '1') end
end

-- Move a job's listing entry from one state index to another, stamped with a fresh seq.
local function setState(id, jk, from, to, pm)
  local member = pm or packId(id)
  if from then redis.call('ZREM', K[from], member) end
  redis.call('ZADD', K[to], nextSeq(), member)
  redis.call('HSET', jk, 's', to)
end

-- A job becomes claimable: ungrouped into `ready`, grouped into its group's line (and the
-- group gets a turn if it has none).
local function addReady(id, priority, runAt, seq, pm, group)
  if group then
    redis.call('ZADD', K.gready, 0, groupMember(group, priority, runAt, seq, pm or packId(id)))
    enroll(group)
  else
    redis.call('ZADD', K.ready, readyScore(priority, runAt), readyMember(seq, id, pm))
  end
end

-- Drop a job from the structure its current (non-terminal) state keeps it in.
local function leaveQueue(id, jk, state)
  if state == 'waiting' then
    local priority, seq, _, group, runAt = jobInfo(jk)
    if group then
      redis.call('ZREM', K.gready, groupMember(group, priority, runAt, seq, packId(id)))
    else
      redis.call('ZREM', K.ready, readyMember(seq, id))
    end
  elseif state == 'delayed' then
    redis.call('ZREM', K.timers, id)
  elseif state == 'active' then
    redis.call('ZREM', K.leases, id)
    local group = redis.call('HGET', jk, 'g')
    redis.call('HDEL', jk, 'lt', 'le')
    if group then leaveActive(group) end
  end
end

local function isTerminal(state)
  return state == 'completed' or state == 'dead' or state == 'cancelled'
end

-- A terminal or removed job frees its dedup key `key` (its `k` field), if it still holds it.
local function releaseDedupKey(id, key)
  if redis.call('HGET', K.dedup, key) == id then
    redis.call('HDEL', K.dedup, key)
  end
end

-- With `now`, a key a throttle still holds (`tu` after now) is kept: the job finished, but
-- its window has not. Without, the key is released anyway (the job is being deleted).
local function releaseDedup(id, jk, now)
  local f = redis.call('HMGET', jk, 'k', 'tu')
  if f[1] and not (now and f[2] and tonumber(f[2]) > now) then releaseDedupKey(id, f[1]) end
end

local function bump(hash, field, delta)
  if not field then return end
  if redis.call('HINCRBY', hash, field, delta) <= 0 then redis.call('HDEL', hash, field) end
end

-- Keep the dead-letter counters and the finish-time index in step as a job enters (+1, at
-- finishedAt `at`) or leaves (-1) dead. `pm` is the job's packed id.
local function countDead(jk, delta, pm, at)
  local f = redis.call('HMGET', jk, 'o', 'en', 'ec')
  local name = string.match(f[1], '^%d+ %d+ %d+ %d+ (.*)$')
  bump(K.dlqNames, name, delta)
  bump(K.dlqErrors, f[2], delta)
  -- A job that died before classes were stored counts as unknown, as latestErrorClass has it.
  bump(K.dlqClasses, f[3] or 'unknown', delta)
  if delta > 0 then
    redis.call('ZADD', K.dlqAt, at, pm)
  else
    redis.call('ZREM', K.dlqAt, pm)
  end
end

-- Append one AttemptError (a JSON object string) to the job's error list, and keep the
-- latest error's name and class beside it for filters and counters.
local function appendError(jk, errorJson, errorName, errorClass)
  local old = redis.call('HGET', jk, 'e')
  local list
  if old then list = string.sub(old, 1, -2) .. ',' .. errorJson .. ']' else list = '[' .. errorJson .. ']' end
  redis.call('HSET', jk, 'e', list, 'en', errorName, 'ec', errorClass)
end

-- Make one delayed job waiting, keeping its runAt (it is due) and its place in line.
local function promoteOne(id, jk, runAt)
  local priority, seq, _, group = jobInfo(jk)
  redis.call('ZREM', K.timers, id)
  addReady(id, priority, runAt, seq, nil, group)
  setState(id, jk, 'delayed', 'waiting')
end

-- Move delayed jobs that are due at `now` to ready, at most PROMOTE_MAX. Returns how many.
local function promoteDue(now)
  local due = redis.call('ZRANGE', K.timers, '-inf', now, 'BYSCORE', 'LIMIT', 0, PROMOTE_MAX, 'WITHSCORES')
  for i = 1, #due, 2 do
    promoteOne(due[i], jobKey(due[i]), tonumber(due[i + 1]))
  end
  if #due > 0 then wake() end
  return #due / 2
end

local function readSettings()
  local s = redis.call('HMGET', K.settings, 'paused', 'conc', 'rlMax', 'rlWin', 'grp', 'gconc', 'grlMax', 'grlWin')
  return { paused = s[1] == '1', conc = tonumber(s[2]), rlMax = tonumber(s[3]), rlWin = tonumber(s[4]),
    grouped = s[5] == '1', gconc = tonumber(s[6]), grlMax = tonumber(s[7]), grlWin = tonumber(s[8]) }
end

-- How many more jobs may start now under the settings (after pruning the rate window).
local function roomFor(settings, now, limit)
  if settings.paused then return 0 end
  local room = limit
  if settings.conc then
    room = math.min(room, settings.conc - redis.call('ZCARD', K.leases))
  end
  if settings.rlMax then
    -- A start at exactly now - window has left the window (now - window, now].
    redis.call('ZREMRANGEBYSCORE', K.starts, '-inf', now - settings.rlWin)
    room = math.min(room, settings.rlMax - redis.call('ZCARD', K.starts))
  end
  if room < 0 then room = 0 end
  return room
end

-- When the rate window next admits a start, if it is full now (call after roomFor, which
-- prunes it): the start that puts the window at rlMax leaves it. False when no limit binds.
local function rateFreeAt(settings)
  if not settings.rlMax or settings.rlMax <= 0 then return false end
  local count = redis.call('ZCARD', K.starts)
  if count < settings.rlMax then return false end
  local blocking = redis.call('ZRANGE', K.starts, count - settings.rlMax, count - settings.rlMax, 'WITHSCORES')
  return tonumber(blocking[2]) + settings.rlWin
end

-- The earliest of the next delayed run time and the rate window's next free slot, or false.
local function nextWakeAt(settings)
  local wakeAt = false
  local first = redis.call('ZRANGE', K.timers, 0, 0, 'WITHSCORES')
  if #first > 0 then wakeAt = tonumber(first[2]) end
  local freeAt = rateFreeAt(settings)
  if freeAt and (not wakeAt or freeAt < wakeAt) then wakeAt = freeAt end
  if settings.grouped then
    -- A group set aside by its rate window takes turns again when it frees.
    local rated = redis.call('ZRANGE', K.grated, 0, 0, 'WITHSCORES')
    if #rated > 0 and (not wakeAt or tonumber(rated[2]) < wakeAt) then wakeAt = tonumber(rated[2]) end
  end
  return wakeAt
end
