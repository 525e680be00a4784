-- Flash-sale stock: may the buyer be told of its sale? Only if the log acknowledged the sale before the reservation's
-- deadline (ARGV[1], ms, as stock_decrement.lua returned it), by Redis's clock: the reaper writes a RELEASE only after
-- that deadline, so the sale is in the log before any RELEASE of it, and the flusher applies it.
-- Returns 1 before the deadline; 0 at or after it (the sale's fate is decided in the log: it may be given back).
if now_ms() < tonumber(ARGV[1]) then
  return 1
end
return 0
