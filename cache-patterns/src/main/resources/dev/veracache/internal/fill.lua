-- Store a loaded value only if our lease is still in place and the value is not older than the floor.
-- ARGV[1] lease token, ARGV[2] version of the loaded value (-1 = unversioned), ARGV[3] the full value record, or ""
-- for a "not found", ARGV[4] ttl ms.
-- Returns 1 stored; 0 lease cancelled or expired and taken (an invalidation or another filler won); -1 a value is
-- already present; -2 refused by the version fence: the value is older than the floor, or a "not found" while the
-- row is known to exist.
local cur = read_record()
if not cur then
  return 0
end
local r = parse(cur)
if not r or not is_tombstone(r) then
  return -1
end
if r.token ~= ARGV[1] then
  return 0
end
local negative = ARGV[3] == ''
local stale
if negative then
  stale = r.kind == 'P'
else
  stale = ARGV[2] ~= '-1' and vcmp(ARGV[2], r.floor) < 0
end
if stale then
  -- Drop our lease (keep the tombstone) so that the next miss loads again at once.
  redis.call('SET', KEYS[1], tombstone(r.kind, r.floor, '0', 0), 'KEEPTTL')
  return -2
end
if negative then
  -- After a known delete the "not found" proves the row's state at that floor; otherwise it proves nothing to sets.
  local floor = '-1'
  if r.kind == 'D' then floor = r.floor end
  redis.call('SET', KEYS[1], 'N:' .. floor .. ':', 'PX', ARGV[4])
else
  redis.call('SET', KEYS[1], ARGV[3], 'PX', ARGV[4])
end
return 1
