-- Store a loaded value only if our lease is still in place and the value is not older than the tombstone.
-- ARGV[1] lease token, ARGV[2] version of the loaded value (-1 = unversioned), ARGV[3] the full record to store, ARGV[4] ttl ms.
-- Returns 1 stored; 0 lease cancelled or expired and taken (an invalidation or another filler won); -1 a value is already present;
-- -2 the value is older than the tombstone.
local cur = redis.call('GET', KEYS[1])
if not cur then
  return 0
end
if not string.match(cur, '^T:%-?%d+:%d+:%d+$') then
  return -1
end
local p1 = string.find(cur, ':', 3, true)
local tomb_version = tonumber(string.sub(cur, 3, p1 - 1))
local p2 = string.find(cur, ':', p1 + 1, true)
local token = string.sub(cur, p1 + 1, p2 - 1)
if token ~= ARGV[1] then
  return 0
end
local version = tonumber(ARGV[2])
if version >= 0 and version < tomb_version then
  -- Stale: drop our lease (keep the tombstone) so that the next miss loads again at once.
  redis.call('SET', KEYS[1], 'T:' .. string.sub(cur, 3, p1 - 1) .. ':0:0', 'KEEPTTL')
  return -2
end
redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
return 1
