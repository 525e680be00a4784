-- Shared by every fence script: FenceScript prepends this file to each one before loading it.
--
-- One Redis string per cache key (see RedisRecord.java; change both together):
--   V:<version>:<payload>             a cached value
--   N:<floor>:                        a cached "not found"
--   T:<floor>:<token>:<deadline_ms>   a tombstone and/or a fill lease (token "0" = no lease); the latest change of the
--                                     row is not known (an unversioned invalidation, or nothing cached)
--   P:<floor>:<token>:<deadline_ms>   the same, after an insert or update to version <floor>: the row exists
--   D:<floor>:<token>:<deadline_ms>   the same, after a delete of the row at version <floor> - 1
-- Versions and floors are decimal strings of 0 .. 2^63, or -1 for "unknown", compared as strings, exactly: Lua
-- numbers are doubles, which cannot tell 2^53 from 2^53 + 1.
--
-- The rules, each tied to the race it closes:
--   * A fill needs its lease (the token) still in the record: any invalidation rewrites the record (R1, R10); a
--     record that vanished (evicted, expired, flushed) cancels the lease too (R14).
--   * A versioned fill below the floor is refused (a lagging replica, R12); a "not found" fill is refused under P
--     (the row exists), R10 from a replica.
--   * A set (write-through) is stored only if the record proves it is not older: a value, "not found", P or D whose
--     version or floor is known and not above the set's. An empty key, an unversioned record or T proves nothing (a
--     delete or a newer set may have been forgotten): the set leaves a tombstone at its version instead (R4, R13, R14).
--   * An invalidation never lowers a floor, and keeps a value at least as new as a versioned change (a replay).

-- -1, 0 or 1 as a is below, equal to or above b. Both are canonical decimals (no sign but a lone "-1", no leading 0).
local function vcmp(a, b)
  if a == b then return 0 end
  if a == '-1' then return -1 end
  if b == '-1' then return 1 end
  if #a ~= #b then return #a < #b and -1 or 1 end
  for i = 1, #a do
    local x, y = string.byte(a, i), string.byte(b, i)
    if x ~= y then return x < y and -1 or 1 end
  end
  return 0
end

local function vmax(a, b)
  if vcmp(a, b) >= 0 then return a end
  return b
end

-- Whether read_record deleted a key of another type (a script may report it to the client).
local foreign_type_deleted = false

-- The record under key (default KEYS[1]), or false when there is none. A key of another type (a hash, a list...)
-- cannot be ours: it is deleted and reported as absent, so one foreign key never blocks the fences (or the CDC
-- listener) on that key.
local function read_record(key)
  key = key or KEYS[1]
  local raw = redis.pcall('GET', key)
  if type(raw) == 'table' and raw.err then
    redis.call('DEL', key)
    foreign_type_deleted = true
    return false
  end
  return raw
end

-- Parses a record into {kind, floor, token, deadline}; the floor of a value is its version. Returns nil for bytes
-- that are not a Veracache record (foreign bytes).
local function parse(raw)
  local kind = string.sub(raw, 1, 1)
  if string.sub(raw, 2, 2) ~= ':' then return nil end
  local p1 = string.find(raw, ':', 3, true)
  if not p1 then return nil end
  local floor = string.sub(raw, 3, p1 - 1)
  if not (floor == '-1' or string.match(floor, '^[1-9]%d*$') or floor == '0') or #floor > 19 then return nil end
  if kind == 'V' or kind == 'N' then
    return {kind = kind, floor = floor}
  end
  if kind ~= 'T' and kind ~= 'P' and kind ~= 'D' then return nil end
  local token, deadline = string.match(string.sub(raw, p1 + 1), '^(%d+):(%d+)$')
  if not token then return nil end
  return {kind = kind, floor = floor, token = token, deadline = tonumber(deadline)}
end

local function now_ms()
  local t = redis.call('TIME')
  return tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
end

local function tombstone(kind, floor, token, deadline)
  return kind .. ':' .. floor .. ':' .. token .. ':' .. string.format('%d', deadline)
end

-- The floor and kind of the tombstone a change (floor, kind) leaves over record r, c being vcmp(r.floor, floor): a
-- newer change the record knows is kept (a replay must not lower the floor), and at the same floor T and P win.
local function keep_known(r, c, floor, kind)
  if c > 0 then
    floor = r.floor
    if r.kind == 'N' then kind = 'D' elseif r.kind ~= 'V' then kind = r.kind end
  elseif c == 0 then
    if r.kind == 'T' then kind = 'T' elseif r.kind == 'P' then kind = 'P' end
  end
  return floor, kind
end

local function is_tombstone(r)
  return r.kind == 'T' or r.kind == 'P' or r.kind == 'D'
end

-- Whether the record proves which change of the row came last, so that a set at or above its floor is not older.
local function proves_latest(r)
  return r.floor ~= '-1' and r.kind ~= 'T'
end

