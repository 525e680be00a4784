-- Flash-sale stock: open (or reopen) the sale of one item. KEYS[1] the counter, KEYS[2] its pending reservations,
-- KEYS[3] the set of the namespace's items (what the orphan reaper scans); ARGV[1] the quantity, ARGV[2] the item.
-- Pending reservations of an earlier sale are dropped with it. Returns 1.
redis.call('SET', KEYS[1], ARGV[1])
redis.call('DEL', KEYS[2])
redis.call('SADD', KEYS[3], ARGV[2])
return 1
