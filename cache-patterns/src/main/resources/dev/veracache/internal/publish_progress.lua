-- A CDC listener on a Redis Cluster says how far it has applied, in one namespace's progress hash: each hash is in a
-- slot of its own, so each gets a call of its own, made after the listener's sequence was checked on every master
-- (publish.lua there, without progress).
-- KEYS[1] the progress hash (veracache:progress:<namespace>).
-- ARGV[1] the listener's name (the hash field), ARGV[2] the Redis time (ms) up to which every commit is known applied:
-- the clock of this hash's master read before the check, less the listener's lag, so that the stamp is never later
-- than a loss the check missed.
-- Returns {1}.
redis.call('HSET', KEYS[1], ARGV[1], ARGV[2])
return {1}
