"""Lua for the Redis pool: each state change that two instances may race for is one script,
so Redis runs it atomically. Keys are built inside the scripts from the prefix (single Redis,
not Cluster: see the README)."""

HELPERS = r"""
local P = ARGV[1]
local KEEP = 86400
local function keys_of(tid)
  return string.gmatch(redis.call('HGET', P..'t:'..tid, 'keys') or '', '%S+')
end
-- P..'tv' holds each on-duty tutor's row 'cv since served seen' (copies of their hash's fields),
-- so a decision reads its 50 candidates with one HMGET instead of one per tutor (~5x less time
-- inside Redis for ADD_REQUEST). Rewritten wherever one of those fields changes.
local function sync_row(tid)
  local v = redis.call('HMGET', P..'t:'..tid, 'cv', 'since', 'served', 'seen')
  if v[1] and v[2] and v[3] and v[4] then
    redis.call('HSET', P..'tv', tid, v[1]..' '..v[2]..' '..v[3]..' '..v[4])
  end
end
local function make_free(tid, now)
  redis.call('HSET', P..'t:'..tid, 'state', 'available', 'since', now)
  sync_row(tid)
  for key in keys_of(tid) do redis.call('ZADD', P..'free:'..key, now, tid) end
end
local function unfree(tid)
  for key in keys_of(tid) do redis.call('ZREM', P..'free:'..key, tid) end
end
local function requeue(rid)
  local rk = P..'r:'..rid
  redis.call('HSET', rk, 'state', 'waiting')
  redis.call('ZADD', P..'q:'..redis.call('HGET', rk, 'qkey'), redis.call('HGET', rk, 'created'), rid)
end
local function drop_offer(rid, tid, now)
  redis.call('ZREM', P..'od', rid..':'..tid)
  local empty, free = 0, 0
  local rk = P..'r:'..rid
  if redis.call('EXISTS', rk) == 1 then
    redis.call('SREM', P..'ro:'..rid, tid)
    if redis.call('SCARD', P..'ro:'..rid) == 0 then
      empty = 1
      if redis.call('HGET', rk, 'state') == 'ringing' then requeue(rid) end
    end
  end
  local tk = P..'t:'..tid
  if redis.call('EXISTS', tk) == 1 then
    redis.call('SREM', P..'to:'..tid, rid)
    if redis.call('SCARD', P..'to:'..tid) == 0 and redis.call('HGET', tk, 'state') == 'offered' then
      make_free(tid, now)
      free = 1
    end
  end
  return {empty, free}
end
local function take_off(tid, now)
  local orphaned = redis.call('SMEMBERS', P..'to:'..tid)
  for _, rid in ipairs(orphaned) do drop_offer(rid, tid, now) end
  unfree(tid)
  for key in keys_of(tid) do redis.call('SREM', P..'duty:'..key, tid) end
  redis.call('ZREM', P..'presence', tid)
  redis.call('DEL', P..'t:'..tid, P..'to:'..tid)
  redis.call('HDEL', P..'tv', tid)
  return orphaned
end
local function count(kind, subject, minute)
  local key = P..'rate:'..kind..':'..subject..':'..minute
  redis.call('INCR', key)
  redis.call('EXPIRE', key, 3700)
end
-- The free tutors under `key`, longest free first, one string each: 'tid cv since served seen'
-- (fifty short strings cost Redis a third of what 250 separate values did).
local function free_rows(key, limit)
  local out = {}
  local tids = redis.call('ZRANGE', P..'free:'..key, 0, limit - 1)
  if #tids == 0 then return out end
  local rows = redis.call('HMGET', P..'tv', unpack(tids))
  for i, tid in ipairs(tids) do
    local row = rows[i]
    if not row then  -- no row (a pool written before rows existed): keep one from now on
      sync_row(tid)
      row = redis.call('HGET', P..'tv', tid)
    end
    if row then table.insert(out, tid..' '..row) end
  end
  return out
end
-- Appends to `out` [rid, spec, state, tried (space-separated)] for the oldest `limit` requests
-- waiting under `key`.
local function waiting_rows(out, key, limit)
  for _, rid in ipairs(redis.call('ZRANGE', P..'q:'..key, 0, limit - 1)) do
    local r = redis.call('HMGET', P..'r:'..rid, 'spec', 'state')
    if r[1] then
      table.insert(out, rid); table.insert(out, r[1]); table.insert(out, r[2])
      table.insert(out, table.concat(redis.call('SMEMBERS', P..'rt:'..rid), ' '))
    end
  end
end
local function serve_rows(tid, limit)
  local v = redis.call('HMGET', P..'t:'..tid, 'state', 'cv', 'since', 'seen', 'served', 'keys')
  if v[1] ~= 'available' then return {} end
  local out = {v[2], v[3], v[4], v[5]}
  for key in string.gmatch(v[6], '%S+') do waiting_rows(out, key, limit) end
  return out
end
-- Rings `tid` for `rid` unless something stands in the way: 'ok' (rung now or already),
-- 'gone' (the request no longer waits), 'off_duty', 'busy', 'tried' (declined before), 'taken'
-- (the tutor is not free; a chosen tutor ('1') is rung anyway).
local function offer(rid, tid, deadline, chosen)
  local rk, tk = P..'r:'..rid, P..'t:'..tid
  local state = redis.call('HGET', rk, 'state')
  if not state or (state ~= 'waiting' and state ~= 'ringing') then return 'gone' end
  local tstate = redis.call('HGET', tk, 'state')
  if not tstate then return 'off_duty' end
  if tstate == 'in_session' then return 'busy' end
  if redis.call('SISMEMBER', P..'rt:'..rid, tid) == 1 then return 'tried' end
  if redis.call('SISMEMBER', P..'ro:'..rid, tid) == 1 then return 'ok' end
  if tstate ~= 'available' and chosen ~= '1' then return 'taken' end
  redis.call('ZREM', P..'q:'..redis.call('HGET', rk, 'qkey'), rid)
  redis.call('HSET', rk, 'state', 'ringing')
  redis.call('SADD', P..'ro:'..rid, tid)
  unfree(tid)
  redis.call('HSET', tk, 'state', 'offered')
  redis.call('SADD', P..'to:'..tid, rid)
  redis.call('ZADD', P..'od', deadline, rid..':'..tid)
  return 'ok'
end
local function finish(rid)
  redis.call('EXPIRE', P..'r:'..rid, KEEP)
  redis.call('DEL', P..'ro:'..rid)
  redis.call('EXPIRE', P..'rt:'..rid, KEEP)
end
"""

# ARGV: P, tid, card, keys, now, card version, served tonight (for a tutor not on duty yet)
PUT_TUTOR = (
    HELPERS
    + r"""
local tid, card, keys, now = ARGV[2], ARGV[3], ARGV[4], ARGV[5]
local tk = P..'t:'..tid
if redis.call('EXISTS', tk) == 1 then
  local was_free = redis.call('HGET', tk, 'state') == 'available'
  local since = redis.call('HGET', tk, 'since')
  unfree(tid)
  for key in keys_of(tid) do redis.call('SREM', P..'duty:'..key, tid) end
  redis.call('HSET', tk, 'card', card, 'keys', keys, 'seen', now, 'offafter', '0')
  if was_free then
    for key in keys_of(tid) do redis.call('ZADD', P..'free:'..key, since, tid) end
  end
else
  redis.call('HSET', tk, 'card', card, 'keys', keys, 'state', 'offered', 'since', now, 'seen', now,
             'served', ARGV[7] or 0, 'sreq', '', 'offafter', '0')
  make_free(tid, now)
end
redis.call('HSET', tk, 'cv', ARGV[6])
sync_row(tid)
for key in keys_of(tid) do redis.call('SADD', P..'duty:'..key, tid) end
redis.call('ZADD', P..'presence', now, tid)
return 1
"""
)

# ARGV: P, tid, now
REMOVE_TUTOR = (
    HELPERS
    + r"""
local tid, now = ARGV[2], ARGV[3]
local tk = P..'t:'..tid
if redis.call('EXISTS', tk) == 0 then return {'ok'} end
if redis.call('HGET', tk, 'state') == 'in_session' then
  redis.call('HSET', tk, 'offafter', '1')
  return {'in_session'}
end
local orphaned = take_off(tid, now)
table.insert(orphaned, 1, 'ok')
return orphaned
"""
)

# ARGV: P, tid, now
HEARTBEAT = (
    HELPERS
    + r"""
local tid, now = ARGV[2], ARGV[3]
if redis.call('EXISTS', P..'t:'..tid) == 0 then return 0 end
redis.call('HSET', P..'t:'..tid, 'seen', now)
sync_row(tid)
redis.call('ZADD', P..'presence', now, tid)
return 1
"""
)

# ARGV: P, tid, now, limit -> {} when not in a session; else {1, FREE_TUTOR_AND_WAITING's answer...}
# with `limit` > 0 (the tutor come free and what waits for them, in the same round trip), {1} without.
END_SESSION = (
    HELPERS
    + r"""
local tid, now = ARGV[2], ARGV[3]
local tk = P..'t:'..tid
if redis.call('HGET', tk, 'state') ~= 'in_session' then return {} end
redis.call('HSET', tk, 'sreq', '')
redis.call('HINCRBY', tk, 'served', 1)
if redis.call('HGET', tk, 'offafter') == '1' then take_off(tid, now) else make_free(tid, now) end
local limit = tonumber(ARGV[4])
local out = limit > 0 and serve_rows(tid, limit) or {}
table.insert(out, 1, 1)
return out
"""
)

# ARGV: P, tid, before, now
DROP_STALE = (
    HELPERS
    + r"""
local tid, before, now = ARGV[2], tonumber(ARGV[3]), ARGV[4]
local tk = P..'t:'..tid
if redis.call('EXISTS', tk) == 0 then return {'no'} end
if tonumber(redis.call('HGET', tk, 'seen')) >= before or redis.call('HGET', tk, 'state') == 'in_session' then
  return {'no'}
end
local orphaned = take_off(tid, now)
table.insert(orphaned, 1, 'ok')
return orphaned
"""
)

# ARGV: P, key, limit -> ['tid cv since served seen', ...] (cv: the card's version); cards
# themselves are fetched only when the caller's cache lacks that version.
AVAILABLE = (
    HELPERS
    + r"""
return free_rows(ARGV[2], tonumber(ARGV[3]))
"""
)

# ARGV: P, rid, spec, qkey, created, expires, subject, minute, candidates -> AVAILABLE's rows for
# qkey (at most `candidates`): an arrival and the tutors it may ring in one round trip.
ADD_REQUEST = (
    HELPERS
    + r"""
local rid = ARGV[2]
-- A re-targeted request (same id) keeps who already declined it; nothing else carries over.
redis.call('DEL', P..'r:'..rid, P..'ro:'..rid)
redis.call('PERSIST', P..'rt:'..rid)
redis.call('HSET', P..'r:'..rid, 'spec', ARGV[3], 'state', 'waiting', 'qkey', ARGV[4], 'created', ARGV[5],
           'exp', ARGV[6], 'tutor', '', 'subject', ARGV[7])
count('arrival', ARGV[7], ARGV[8])
redis.call('ZADD', P..'q:'..ARGV[4], ARGV[5], rid)
redis.call('ZADD', P..'rd', ARGV[6], rid)
local limit = tonumber(ARGV[9])
if limit > 0 then return free_rows(ARGV[4], limit) end
return {}
"""
)

# ARGV: P, rid, tid, now, deadline, chosen
OFFER = (
    HELPERS
    + r"""
return offer(ARGV[2], ARGV[3], ARGV[5], ARGV[6])
"""
)

# ARGV: P, rid, now, deadline, want, tids (space-separated, best first) -> {gone (0|1), rung...}:
# OFFER (auto) down a ranked list until `want` tutors ring, in one round trip. The list is one
# argument: fifty arguments cost the client ~20 us more to encode than one string.
OFFER_FIRST = (
    HELPERS
    + r"""
local rid, deadline, want = ARGV[2], ARGV[4], tonumber(ARGV[5])
local rung = {}
for tid in string.gmatch(ARGV[6], '%S+') do
  local outcome = offer(rid, tid, deadline, '0')
  if outcome == 'gone' then
    table.insert(rung, 1, 1)
    return rung
  end
  if outcome == 'ok' then
    table.insert(rung, tid)
    if #rung >= want then break end
  end
end
table.insert(rung, 1, 0)
return rung
"""
)

# ARGV: P, rid, tid, now, minute -> {outcome, nfreed, freed..., orphaned...}
CLAIM = (
    HELPERS
    + r"""
local rid, tid, now = ARGV[2], ARGV[3], ARGV[4]
local rk, tk = P..'r:'..rid, P..'t:'..tid
local state = redis.call('HGET', rk, 'state')
if not state or state == 'cancelled' or state == 'expired' then return {'gone', 0} end
if state == 'matched' then return {'taken', 0} end
if redis.call('EXISTS', tk) == 0 or redis.call('SISMEMBER', P..'ro:'..rid, tid) == 0 then return {'no_offer', 0} end
if redis.call('HGET', tk, 'state') == 'in_session' then return {'busy', 0} end
local freed, orphaned = {}, {}
for _, x in ipairs(redis.call('SMEMBERS', P..'ro:'..rid)) do if x ~= tid then table.insert(freed, x) end end
for _, x in ipairs(redis.call('SMEMBERS', P..'to:'..tid)) do if x ~= rid then table.insert(orphaned, x) end end
redis.call('HSET', rk, 'state', 'matched', 'tutor', tid)
count('match', redis.call('HGET', rk, 'subject'), ARGV[5])
redis.call('ZREM', P..'rd', rid)
for _, x in ipairs(freed) do drop_offer(rid, x, now) end
for _, x in ipairs(orphaned) do drop_offer(x, tid, now) end
redis.call('ZREM', P..'od', rid..':'..tid)
redis.call('DEL', P..'to:'..tid)
finish(rid)
unfree(tid)
redis.call('HSET', tk, 'state', 'in_session', 'sreq', rid)
local out = {'ok', #freed}
for _, x in ipairs(freed) do table.insert(out, x) end
for _, x in ipairs(orphaned) do table.insert(out, x) end
return out
"""
)

# ARGV: P, rid, tid, now -> {done, request_state, tutor_free}
WITHDRAW = (
    HELPERS
    + r"""
local rid, tid, now = ARGV[2], ARGV[3], ARGV[4]
if redis.call('SISMEMBER', P..'ro:'..rid, tid) == 0 then return {0} end
redis.call('SADD', P..'rt:'..rid, tid)
local res = drop_offer(rid, tid, now)
return {1, redis.call('HGET', P..'r:'..rid, 'state'), res[2]}
"""
)

# ARGV: P, rid, new_state, now -> {'ok', freed...} | {'none'}
CLOSE = (
    HELPERS
    + r"""
local rid, new_state, now = ARGV[2], ARGV[3], ARGV[4]
local rk = P..'r:'..rid
local state = redis.call('HGET', rk, 'state')
if not state or (state ~= 'waiting' and state ~= 'ringing') then return {'none'} end
local freed = redis.call('SMEMBERS', P..'ro:'..rid)
redis.call('HSET', rk, 'state', new_state)
for _, x in ipairs(freed) do drop_offer(rid, x, now) end
redis.call('ZREM', P..'q:'..redis.call('HGET', rk, 'qkey'), rid)
redis.call('ZREM', P..'rd', rid)
finish(rid)
table.insert(freed, 1, 'ok')
return freed
"""
)

# ARGV: P, rid, tid, now
RELEASE = (
    HELPERS
    + r"""
local rid, tid, now = ARGV[2], ARGV[3], ARGV[4]
local rk, tk = P..'r:'..rid, P..'t:'..tid
if redis.call('HGET', rk, 'state') == 'matched' and redis.call('HGET', rk, 'tutor') == tid then
  redis.call('HSET', rk, 'state', 'cancelled')
end
if redis.call('HGET', tk, 'state') == 'in_session' and redis.call('HGET', tk, 'sreq') == rid then
  redis.call('HSET', tk, 'sreq', '')
  make_free(tid, now)
end
return 1
"""
)

# ARGV: P, rid -> queue position (1-based) or false
POSITION = (
    HELPERS
    + r"""
local qkey = redis.call('HGET', P..'r:'..ARGV[2], 'qkey')
if not qkey then return false end
local rank = redis.call('ZRANK', P..'q:'..qkey, ARGV[2])
if not rank then return false end
return rank + 1
"""
)

# ARGV: P, tid, limit -> {} unless the tutor is available; else [card version, since, seen, served,
# then WAITING's rows for every key the tutor teaches]: a tutor come free and what they may take.
FREE_TUTOR_AND_WAITING = (
    HELPERS
    + r"""
return serve_rows(ARGV[2], tonumber(ARGV[3]))
"""
)

# ARGV: P, limit, key... -> flat [rid, spec, state, tried (space-separated), ...] oldest first per key
WAITING = (
    HELPERS
    + r"""
local limit = tonumber(ARGV[2])
local out = {}
for i = 3, #ARGV do waiting_rows(out, ARGV[i], limit) end
return out
"""
)
