-- Give up our fill lease without storing anything (the load failed or the value cannot be cached), so that waiting
-- misses stop waiting. Leaves the record alone unless our lease is still in it; keeps a tombstone's version and TTL.
-- ARGV[1] lease token. Returns 1 released, 0 not ours any more.
local cur = redis.call('GET', KEYS[1])
if not cur or not string.match(cur, '^T:%-?%d+:%d+:%d+$') then
  return 0
end
local p1 = string.find(cur, ':', 3, true)
local version = string.sub(cur, 3, p1 - 1)
local p2 = string.find(cur, ':', p1 + 1, true)
if string.sub(cur, p1 + 1, p2 - 1) ~= ARGV[1] then
  return 0
end
if version == '-1' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], 'T:' .. version .. ':0:0', 'KEEPTTL')
end
return 1
