-- Flash-sale stock: the reservations of an item still unsettled past their deadline (their buyer may have died
-- between taking the units and writing the log). KEYS[1] the pending reservations; ARGV[1] how long until the same
-- reservation is returned again (ms): each is pushed that far forward, so one RELEASE is written per round, not one
-- per reap.
-- Returns {id1, amount1, id2, amount2, ...}.
local now = now_ms()
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local amount, deadline = string.match(all[i + 1], '^(%d+):(%d+)$')
  if amount and tonumber(deadline) <= now then
    table.insert(out, all[i])
    table.insert(out, amount)
    redis.call('HSET', KEYS[1], all[i], amount .. ':' .. string.format('%d', now + tonumber(ARGV[1])))
  end
end
return out
