-- Refresh-ahead: give a value a new lifetime, only if it is still exactly the record the refresh read.
-- ARGV[1] the full record as read (a value record), ARGV[2] the new lifetime in ms.
-- Returns 1 extended (or already living at least that long); 0 the record changed or vanished since it was read (an
-- invalidation, a newer set or a fill won): nothing is done, so a refresh never brings back what was invalidated.
-- The PEXPIRE pushes a tracking invalidation, like any write under the namespace: L1 entries of the key are dropped
-- and re-read from Redis, which is harmless.
local cur = read_record()
if not cur or cur ~= ARGV[1] then
  return 0
end
local r = parse(cur)
if not r or r.kind ~= 'V' then
  return 0
end
local ttl = tonumber(ARGV[2])
if redis.call('PTTL', KEYS[1]) < ttl then
  redis.call('PEXPIRE', KEYS[1], ttl)
end
return 1
