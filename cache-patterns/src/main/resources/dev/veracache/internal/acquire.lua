-- Take the fill lease for KEYS[1], or report why not.
-- ARGV[1] lease token (decimal, never "0"), ARGV[2] lease lifetime in ms.
-- Returns {1} lease granted; {3} lease granted after deleting a key of another type (the caller reports it, as a GET
-- would have); {0, remaining_ms} another lease is live; {2, record} a value, a negative entry or foreign bytes are
-- present (the caller serves, or reports and invalidates them).
local cur = read_record()
local now = now_ms()
local lease_ms = tonumber(ARGV[2])
if not cur then
  -- No floor is known (never cached, evicted, expired, flushed): the lease alone fences the fill, whose loader reads
  -- after this point; any later invalidation rewrites the record and so cancels the lease.
  redis.call('SET', KEYS[1], tombstone('T', '-1', ARGV[1], now + lease_ms), 'PX', lease_ms)
  if foreign_type_deleted then return {3} end
  return {1}
end
local r = parse(cur)
if not r or r.kind == 'V' or r.kind == 'N' then
  return {2, cur}
end
if r.token ~= '0' and r.deadline > now then
  return {0, r.deadline - now}
end
-- A tombstone (or an expired lease): keep its kind, floor and remaining lifetime, add our lease.
local ttl = redis.call('PTTL', KEYS[1])
if ttl < lease_ms then ttl = lease_ms end
redis.call('SET', KEYS[1], tombstone(r.kind, r.floor, ARGV[1], now + lease_ms), 'PX', ttl)
return {1}
