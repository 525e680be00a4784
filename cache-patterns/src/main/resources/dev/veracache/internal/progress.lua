-- Where the CDC listeners stand, for clients that trust a namespace only while its listener keeps up.
-- KEYS the progress hashes (veracache:progress:<namespace>), one field per listener: the Redis time (ms) up to which
-- that listener has applied every commit.
-- Returns {redis_now_ms, safe_1, ..., safe_n}: per key the lowest field (the listener furthest behind), -1 if none.
local reply = {now_ms()}
for i, key in ipairs(KEYS) do
  local lowest = -1
  local values = redis.call('HVALS', key)
  for _, v in ipairs(values) do
    local n = tonumber(v)
    if n and (lowest < 0 or n < lowest) then lowest = n end
  end
  reply[i + 1] = lowest
end
return reply
