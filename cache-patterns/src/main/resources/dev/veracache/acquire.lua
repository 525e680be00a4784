-- Take the fill lease for KEYS[1], or report why not.
-- ARGV[1] lease token (decimal, never "0"), ARGV[2] lease lifetime in ms.
-- Returns {1} lease granted; {0, remaining_ms} another lease is live; {2, record} a value or negative entry is present.
-- Record layout (see RedisRecord.java): V:<version>:<payload> | N:<version>: | T:<version>:<token>:<lease_deadline_ms>
local cur = redis.call('GET', KEYS[1])
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local lease_ms = tonumber(ARGV[2])
if not cur then
  redis.call('SET', KEYS[1], 'T:-1:' .. ARGV[1] .. ':' .. string.format('%d', now + lease_ms), 'PX', lease_ms)
  return {1}
end
local kind = string.sub(cur, 1, 1)
if kind ~= 'T' or not string.match(cur, '^T:%-?%d+:%d+:%d+$') then
  return {2, cur} -- a value, a negative entry, or foreign bytes the caller will report and invalidate
end
local p1 = string.find(cur, ':', 3, true)
local version = string.sub(cur, 3, p1 - 1)
local p2 = string.find(cur, ':', p1 + 1, true)
local token = string.sub(cur, p1 + 1, p2 - 1)
local deadline = tonumber(string.sub(cur, p2 + 1))
if token ~= '0' and deadline > now then
  return {0, deadline - now}
end
-- A tombstone (or an expired lease): keep its version and its remaining lifetime, add our lease.
local ttl = redis.call('PTTL', KEYS[1])
if ttl < lease_ms then ttl = lease_ms end
redis.call('SET', KEYS[1], 'T:' .. version .. ':' .. ARGV[1] .. ':' .. string.format('%d', now + lease_ms), 'PX', ttl)
return {1}
