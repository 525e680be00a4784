-- Flash-sale stock: the reservations of an item still unsettled past their deadline (their buyer may have died
-- between taking the units and writing the log). KEYS[1] the pending reservations.
-- Returns {id1, amount1, id2, amount2, ...}.
local now = now_ms()
local all = redis.call('HGETALL', KEYS[1])
local out = {}
for i = 1, #all, 2 do
  local amount, deadline = string.match(all[i + 1], '^(%d+):(%d+)$')
  if amount and tonumber(deadline) <= now then
    table.insert(out, all[i])
    table.insert(out, amount)
  end
end
return out
