-- Flash-sale stock: the reaper's RELEASE of reservation ARGV[1] is in the log. Mark it (":R"), so that no reaper
-- writes another: the entry stays until the flusher settles it. KEYS[1] the pending reservations.
-- Returns 1 marked; 0 already settled (or marked).
local entry = redis.call('HGET', KEYS[1], ARGV[1])
if not entry or string.sub(entry, -2) == ':R' then
  return 0
end
redis.call('HSET', KEYS[1], ARGV[1], entry .. ':R')
return 1
