-- Give up our fill lease without storing anything (the load failed or the value cannot be cached), so that waiting
-- misses stop waiting. Leaves the record alone unless our lease is still in it; keeps a tombstone's kind, floor and TTL.
-- ARGV[1] lease token. Returns 1 released, 0 not ours any more.
local cur = read_record()
local r = cur and parse(cur)
if not r or not is_tombstone(r) or r.token ~= ARGV[1] then
  return 0
end
if r.floor == '-1' then
  redis.call('DEL', KEYS[1])
else
  redis.call('SET', KEYS[1], tombstone(r.kind, r.floor, '0', 0), 'KEEPTTL')
end
return 1
