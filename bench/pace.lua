-- Open-loop pacing for the wrk scripts (wrk has no fixed-rate mode; wrk2 is not packaged).
--
-- RATE_PER_THREAD sets the requests per second each wrk thread sends: every response hands
-- its connection the next free slot of the thread's schedule (slots 1000 / rate ms apart),
-- so the rate holds whatever the latency, as long as enough connections are open to cover
-- it. A slot already past is sent at once, so a stall is followed by the backlog it built,
-- as real arrivals would be; the runner reports the achieved rate to show the schedule held.
-- Without RATE_PER_THREAD every connection sends again as soon as it has its answer.
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } pace_timespec;
int clock_gettime(int clk_id, pace_timespec *tp);
]]

local CLOCK_MONOTONIC = 1
local ts = ffi.new("pace_timespec")
local rate = tonumber(os.getenv("RATE_PER_THREAD") or "0")
local interval = rate > 0 and 1000 / rate or nil
local next_slot = nil

local function now_ms()
  ffi.C.clock_gettime(CLOCK_MONOTONIC, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

local pace = {}

-- wrk calls delay() after each response: milliseconds to wait before the next request.
function pace.delay()
  if interval == nil then
    return 0
  end
  local now = now_ms()
  if next_slot == nil then
    next_slot = now
  end
  local slot = next_slot
  next_slot = next_slot + interval
  return math.max(0, math.floor(slot - now))
end

return pace
