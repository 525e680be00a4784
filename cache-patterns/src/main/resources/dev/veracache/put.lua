-- Versioned set (write-through): store ARGV[2] unless the entry or tombstone in place carries a newer version.
-- ARGV[1] version (>= 0), ARGV[2] the full record, ARGV[3] ttl ms.
-- Foreign bytes under the key are overwritten.
-- Returns 1 stored; 2 the same version is already cached; 0 refused, a newer version is in place.
local cur = redis.call('GET', KEYS[1])
local version = tonumber(ARGV[1])
if cur and string.match(cur, '^[VNT]:%-?%d+:') then
  local p1 = string.find(cur, ':', 3, true)
  local cur_version = tonumber(string.sub(cur, 3, p1 - 1))
  if cur_version > version then
    return 0
  end
  if cur_version == version and string.sub(cur, 1, 1) == 'V' then
    return 2
  end
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', ARGV[3])
return 1
