-- A CDC listener says how far it has applied, after Redis took the invalidations up to there.
-- KEYS[1] the listener instance's sequence key (veracache:cdc:<listener>:seq:<instance>), KEYS[2..] the progress
-- hashes of its namespaces.
-- ARGV[1] the sequence number the listener wrote last ("" right after it started), ARGV[2] the new one, ARGV[3] the
-- listener's name (the hash field), ARGV[4] how long ago, in ms, the newest commit known applied was made, or "" to
-- only check and advance the sequence (after every applied batch: an invalidation lost with a restored snapshot is
-- then always followed by a sequence number lost with it).
-- Returns {1} published; {0, found} the sequence key does not hold what this listener wrote last: Redis lost data
-- (restarted from an older snapshot, failed over to a replica that lagged, flushed), so acknowledged invalidations may
-- be gone. Nothing is published then.
local found = redis.call('GET', KEYS[1])
if ARGV[1] ~= '' and found ~= ARGV[1] then
  return {0, found or ''}
end
redis.call('SET', KEYS[1], ARGV[2], 'PX', 86400000) -- a stopped instance's key goes away by itself
if ARGV[4] == '' then
  return {1} -- a check after a batch, no progress to publish
end
-- The listener's own field is overwritten: progress may go back after a restart (replayed markers), which only makes
-- clients more careful, and a field from a clock that ran ahead cannot pin a stale "safe" time.
local safe = now_ms() - tonumber(ARGV[4])
for i = 2, #KEYS do
  redis.call('HSET', KEYS[i], ARGV[3], string.format('%d', safe))
end
return {1}
