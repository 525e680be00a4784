-- Write-behind: reserve the next version of KEYS[1] before its write goes to the log, and fence the key at it.
-- ARGV[1] lifetime of the fence in ms (at least as long as the log may take to acknowledge the write).
-- The version is Redis's clock in microseconds, or one above the record's floor when that is not below it (a hybrid
-- logical clock): every reserve of a key gets a version above the one before, across clients, and above any version
-- a fill or an invalidation left, even after the record was lost (the clock only moves forward).
-- The key becomes "P:<version>" (the row exists at that version): any lease is cancelled, and fills below it are
-- refused, so a reader cannot cache the database's older row over the write while it waits in the log.
-- Returns the version (a canonical decimal).
local cur = read_record()
local r = cur and parse(cur)
local t = redis.call('TIME')
local now_us = t[1] .. string.format('%06d', tonumber(t[2]))
local version = now_us
if r and vcmp(r.floor, now_us) >= 0 then
  -- The floor is at or above the clock: go one above it (decimal increment, exact beyond 2^53).
  local digits = {string.byte(r.floor, 1, -1)}
  local i = #digits
  while i >= 1 and digits[i] == 57 do
    digits[i] = 48
    i = i - 1
  end
  if i == 0 then
    table.insert(digits, 1, 49)
  else
    digits[i] = digits[i] + 1
  end
  version = string.char(unpack(digits))
  if #version > 19 or (#version == 19 and version > '9223372036854775807') then
    return redis.error_reply('VERACACHE version overflow: ' .. KEYS[1] .. ' is fenced at ' .. r.floor)
  end
end
redis.call('SET', KEYS[1], tombstone('P', version, '0', 0), 'PX', ARGV[1])
return version
