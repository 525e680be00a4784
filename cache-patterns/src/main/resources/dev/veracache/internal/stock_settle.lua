-- Flash-sale stock: settle one reservation once the database knows its fate. KEYS[1] the counter, KEYS[2] its
-- pending reservations; ARGV[1] the reservation id, ARGV[2] "1" to give its units back (it was released: its
-- decrement never reached the log), "0" to keep them taken (applied).
-- Idempotent: only the first settle of an id finds it, so units are given back at most once.
-- Returns 1 settled now; 0 already settled (or never pending).
local entry = redis.call('HGET', KEYS[2], ARGV[1])
if not entry then
  return 0
end
redis.call('HDEL', KEYS[2], ARGV[1])
if ARGV[2] == '1' then
  local n = tonumber(string.match(entry, '^(%d+):'))
  if redis.call('EXISTS', KEYS[1]) == 1 then
    redis.call('INCRBY', KEYS[1], n)
  end
end
return 1
