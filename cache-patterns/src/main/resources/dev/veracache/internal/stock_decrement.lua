-- Flash-sale stock: take ARGV[1] units of an item if that many are left, never going below zero, and remember the
-- reservation until the flusher settles it. KEYS[1] the counter, KEYS[2] its pending reservations (a hash: id ->
-- "<amount>:<deadline ms>"); ARGV[1] the amount (>= 1), ARGV[2] the reservation id, ARGV[3] how long the
-- reservation may stay unsettled before the reaper asks the log whether it was ever written (ms).
-- Returns {1, left, deadline_ms} taken; {0, left} not enough; {-1} the sale of this item is not open (no counter).
local s = redis.call('GET', KEYS[1])
if not s then
  return {-1}
end
local left = tonumber(s)
local n = tonumber(ARGV[1])
if left < n then
  return {0, left}
end
left = redis.call('DECRBY', KEYS[1], n)
local deadline = now_ms() + tonumber(ARGV[3])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[1] .. ':' .. string.format('%d', deadline))
return {1, left, deadline}
