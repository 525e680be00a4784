-- A CDC listener on a Redis Cluster says how far it has applied, in one namespace's progress hash: each hash is in a
-- slot of its own, so each gets a call of its own, made after the listener's sequence was checked on every master
-- (publish.lua there, without progress).
-- KEYS[1] the progress hash (veracache:progress:<namespace>).
-- ARGV[1] the listener's name (the hash field), ARGV[2] how long ago, in ms, the newest commit known applied was made.
-- Stamped with the clock of the master holding the hash, the clock its readers (progress.lua) compare it with.
-- Returns {1}.
redis.call('HSET', KEYS[1], ARGV[1], string.format('%d', now_ms() - tonumber(ARGV[2])))
return {1}
