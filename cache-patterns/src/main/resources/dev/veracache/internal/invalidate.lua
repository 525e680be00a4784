-- Invalidate KEYS[1]: cancel any lease, drop the value unless it is at least as new as the change, never lower the
-- floor.
-- ARGV[1] floor of the change: the new version for an insert or update (P), the deleted version + 1 for a delete (D),
-- a lower bound or -1 when the change's version is unknown (T); ARGV[2] tombstone lifetime ms; ARGV[3] the kind,
-- "P", "D" or "T"; ARGV[4] "1" to drop a value whatever its version (unversioned).
-- Foreign bytes and keys of other types under the key are deleted.
-- Returns 1 applied; 0 nothing to do (a value at least as new is cached).
local cur = read_record()
local r = cur and parse(cur)
local floor = ARGV[1]
local kind = ARGV[3]
if r then
  local c = vcmp(r.floor, floor)
  if r.kind == 'V' and ARGV[4] ~= '1' and floor ~= '-1' and c >= 0 then
    return 0 -- a replayed or late event: the cached value is at least as new
  end
  if kind == 'T' then
    floor = vmax(r.floor, floor) -- the latest change is unknown now, whatever the record knew
  elseif c > 0 then
    -- The record knows a newer change than this one (a replay): keep what it knows.
    floor = r.floor
    if r.kind == 'N' then kind = 'D' elseif r.kind ~= 'V' then kind = r.kind end
  elseif c == 0 then
    if r.kind == 'T' then kind = 'T' elseif r.kind == 'P' then kind = 'P' end
  end
end
if floor == '-1' then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('SET', KEYS[1], tombstone(kind, floor, '0', 0), 'PX', ARGV[2])
return 1
