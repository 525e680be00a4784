-- Write-behind: fence KEYS[1] after the flusher committed a change to the database (or dead-lettered one), like
-- invalidate.lua but knowing that write-behind versions never restart (a hybrid clock), so a record newer than the
-- change is a write still pending and stays:
--   * a value at or above the change's version stays (a newer pending write, or this very write);
--   * a "not found" above it stays (a newer pending delete), and so does one at a delete's own floor (this delete);
--   * this very write (the value at the put's version, the "not found" at the delete's floor) was cached with the long
--     pending lifetime: it now gets the normal one (ARGV[4] for a value, ARGV[5] for a "not found");
--   * anything else becomes a tombstone at the change's floor, never lowering a floor (as invalidate.lua).
-- ARGV[1] floor of the change (the put's version; a delete's version + 1), ARGV[2] tombstone lifetime ms, ARGV[3] the
-- kind, "P" or "D", ARGV[4] value ttl ms, ARGV[5] "not found" ttl ms.
-- Returns 1 fenced; 0 a record at least as new stays.
local cur = read_record()
local r = cur and parse(cur)
local floor = ARGV[1]
local kind = ARGV[3]
if r then
  local c = vcmp(r.floor, floor)
  local this_write = c == 0 and ((r.kind == 'V' and kind == 'P') or (r.kind == 'N' and kind == 'D'))
  if this_write then
    redis.call('PEXPIRE', KEYS[1], r.kind == 'V' and ARGV[4] or ARGV[5])
    return 0
  end
  if (r.kind == 'V' and c >= 0) or (r.kind == 'N' and c > 0) then
    return 0
  end
  floor, kind = keep_known(r, c, floor, kind)
end
redis.call('SET', KEYS[1], tombstone(kind, floor, '0', 0), 'PX', ARGV[2])
return 1
