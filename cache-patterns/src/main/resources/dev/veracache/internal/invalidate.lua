-- Invalidate KEYS[1], KEYS[2]... in that order (the CDC listener sends a batch in one call; every other caller one
-- key): for each, cancel any lease, drop the value unless it is at least as new as the change, never lower the floor.
-- Key i takes ARGV[4i-3 .. 4i]:
--   floor of the change: the new version for an insert or update (P), the deleted version + 1 for a delete (D), a
--   lower bound or -1 when the change's version is unknown (T); the tombstone lifetime ms; the kind, "P", "D" or "T";
--   "1" to drop a value whatever its version (unversioned).
-- Foreign bytes and keys of other types under a key are deleted. On a cluster, the keys of one call share a slot.
-- Returns how many keys were applied: for one key, 1 applied, 0 nothing to do (a value at least as new is cached).
local function invalidate(key, floor, ttl, kind, unversioned)
  local cur = read_record(key)
  local r = cur and parse(cur)
  if r then
    local c = vcmp(r.floor, floor)
    if r.kind == 'V' and unversioned ~= '1' and floor ~= '-1' and c >= 0 then
      return 0 -- a replayed or late event: the cached value is at least as new
    end
    if kind == 'T' then
      floor = vmax(r.floor, floor) -- the latest change is unknown now, whatever the record knew
    else
      floor, kind = keep_known(r, c, floor, kind)
    end
  end
  if floor == '-1' then
    redis.call('DEL', key)
    return 1
  end
  redis.call('SET', key, tombstone(kind, floor, '0', 0), 'PX', ttl)
  return 1
end

if #ARGV ~= 4 * #KEYS then
  return redis.error_reply('ERR invalidate.lua: ' .. #KEYS .. ' keys need ' .. (4 * #KEYS) .. ' arguments, got ' .. #ARGV)
end
local applied = 0
for i = 1, #KEYS do
  local a = 4 * (i - 1)
  applied = applied + invalidate(KEYS[i], ARGV[a + 1], ARGV[a + 2], ARGV[a + 3], ARGV[a + 4])
end
return applied
