-- Versioned set (write-through): store ARGV[2] only if the record in place proves it is not older.
-- ARGV[1] version (>= 0), ARGV[2] the full record, ARGV[3] ttl ms, ARGV[4] tombstone lifetime ms.
-- Returns 1 stored; 2 the same version is already cached; 0 refused, a newer version or floor is in place;
-- 3 not stored, nothing proves this set is the newest: the key is empty (never cached, or its tombstone was evicted,
-- expired or flushed), unversioned, or the row's latest change is unknown (T). A delete or a newer set may have been
-- forgotten, so the set leaves a tombstone at its version instead (keeping a live lease): the next read loads the row.
local cur = read_record()
local r = cur and parse(cur)
local version = ARGV[1]
if not r or not proves_latest(r) then
  if r and is_tombstone(r) then
    local ttl = redis.call('PTTL', KEYS[1])
    local tomb_ms = tonumber(ARGV[4])
    if ttl < tomb_ms then ttl = tomb_ms end
    redis.call('SET', KEYS[1], tombstone('T', vmax(r.floor, version), r.token, r.deadline), 'PX', ttl)
  else
    redis.call('SET', KEYS[1], tombstone('T', version, '0', 0), 'PX', ARGV[4])
  end
  return 3
end
local c = vcmp(version, r.floor)
if c < 0 then
  return 0
end
if c == 0 and r.kind == 'V' then
  return 2
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
