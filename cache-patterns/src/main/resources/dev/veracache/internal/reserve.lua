-- Write-behind: reserve the next version of KEYS[1] before its write goes to the log.
-- KEYS[2] the key's last reserved version (outside the cache's namespace: never tracked, never a record);
-- ARGV[1] how long the reservation and the fence live, ms (at least as long as the log may take to acknowledge).
-- The version is Redis's clock in microseconds, or one above the record's floor or the last reserved version when
-- either is not below it (a hybrid logical clock): every reserve of a key gets a version above the one before, across
-- clients, and above any version a fill or an invalidation left.
-- A value or a "not found" in place (maybe a write not flushed yet) stays served until this write is cached: fills
-- cannot land over it anyway. Anything else (nothing, a tombstone, a lease) becomes "P:<version>" (the row exists at
-- that version): any lease is cancelled, and fills of the database's older row are refused while the write waits in
-- the log.
-- Returns the version (a canonical decimal).
local function increment(v)
  local digits = {string.byte(v, 1, -1)}
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
  return string.char(unpack(digits))
end

local cur = read_record()
local r = cur and parse(cur)
local t = redis.call('TIME')
local version = t[1] .. string.format('%06d', tonumber(t[2]))
local last = redis.call('GET', KEYS[2])
if last and not string.match(last, '^[1-9]%d*$') then last = nil end
for _, seen in ipairs({r and r.floor or '-1', last or '-1'}) do
  if vcmp(seen, version) >= 0 then version = increment(seen) end
end
if #version > 19 or (#version == 19 and version > '9223372036854775807') then
  return redis.error_reply('VERACACHE version overflow: ' .. KEYS[1] .. ' is fenced at ' .. version)
end
redis.call('SET', KEYS[2], version, 'PX', ARGV[1])
if not r or is_tombstone(r) then
  redis.call('SET', KEYS[1], tombstone('P', version, '0', 0), 'PX', ARGV[1])
end
return version
