-- Versioned set (write-through): store ARGV[2] only if the record in place proves it is not older.
-- ARGV[1] version (>= 0), ARGV[2] the full record, ARGV[3] ttl ms, ARGV[4] tombstone lifetime ms.
-- Returns 1 stored; 2 the same version is already cached; 0 refused, a newer version or floor is in place;
-- 3 not stored, nothing proves this set is the newest: the key is empty (never cached, or its tombstone was evicted,
-- expired or flushed), unversioned, or the row's latest change is unknown (T). A delete or a newer set may have been
-- forgotten, so the set leaves a tombstone at its version instead: the next read loads the row. The set stands for a
-- committed write, so like any invalidation it cancels a lease in place (its loader may have read before the write).
local cur = read_record()
local r = cur and parse(cur)
local version = ARGV[1]
if not r or not proves_latest(r) then
  local floor = version
  local ttl = tonumber(ARGV[4])
  if r and is_tombstone(r) then
    floor = vmax(r.floor, version)
    local left = redis.call('PTTL', KEYS[1])
    if left > ttl then ttl = left end
  end
  redis.call('SET', KEYS[1], tombstone('T', floor, '0', 0), 'PX', ttl)
  return 3
end
local c = vcmp(version, r.floor)
if c < 0 then
  if r.kind == 'N' then
    -- A committed write says the row exists now, at a version below the "not found"'s floor: either this set is stale
    -- or the row was re-inserted with a restarted version. Neither side can be trusted: drop the "not found" (keep its
    -- floor), so the next read asks the database.
    redis.call('SET', KEYS[1], tombstone('D', r.floor, '0', 0), 'PX', ARGV[4])
  end
  return 0
end
if c == 0 and r.kind == 'V' then
  return 2
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
