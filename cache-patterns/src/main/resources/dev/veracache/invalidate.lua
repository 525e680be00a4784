-- Invalidate KEYS[1]: cancel any lease, drop the value, and remember the newest version seen in a tombstone.
-- ARGV[1] version of the change (-1 = unversioned), ARGV[2] tombstone lifetime ms.
-- A versioned invalidation leaves a value that is already at least that new in place (a replayed or late event).
-- Foreign bytes under the key are deleted.
-- Returns 1 applied; 0 nothing to do (a value at least as new is cached).
local cur = redis.call('GET', KEYS[1])
local version = tonumber(ARGV[1])
if cur and string.match(cur, '^[VNT]:%-?%d+:') then
  local p1 = string.find(cur, ':', 3, true)
  local cur_version = tonumber(string.sub(cur, 3, p1 - 1))
  if version >= 0 and string.sub(cur, 1, 1) == 'V' and cur_version >= version then
    return 0
  end
  if cur_version > version then
    version = cur_version
  end
end
if version < 0 then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('SET', KEYS[1], 'T:' .. string.format('%d', version) .. ':0:0', 'PX', ARGV[2])
return 1
