-- wrk script: member lookups at the till, by phone, e-mail, card and QR code in turn, each for
-- a random member of the hot set (ids HOT_STEP, 2*HOT_STEP, ..., HOT * HOT_STEP).
-- RATE_PER_THREAD paces the requests (see bench/pace.lua, whose path is in PACE_LUA).
local key = os.getenv("KEY")
local hot = tonumber(os.getenv("HOT"))
local step = tonumber(os.getenv("HOT_STEP"))
local qr_file = os.getenv("QR_FILE")
local pace = dofile(os.getenv("PACE_LUA"))
local thread_counter = 0

function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("tid", thread_counter)
end

function init(args)
  n = 0
  math.randomseed(os.time() * 100 + tid)
  qrs = {}
  for line in io.lines(qr_file) do
    qrs[#qrs + 1] = line
  end
  wrk.headers["Authorization"] = "Bearer " .. key
end

function request()
  n = n + 1
  local id = math.random(1, hot) * step
  local kind = n % 4
  local query
  if kind == 0 then
    query = string.format("phone=9%07d", id)
  elseif kind == 1 then
    query = string.format("email=M%d%%40Bench.example", id)  -- normalised by the server
  elseif kind == 2 then
    query = string.format("card=C%09d", id)
  else
    query = "qr=" .. qrs[math.random(1, #qrs)]
  end
  return wrk.format("GET", "/v1/pos/members/lookup?" .. query)
end

delay = pace.delay

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f errors_status=%d errors_other=%d " ..
    "p50_ms=%.2f p90_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(90) / 1000,
    latency:percentile(99) / 1000, latency.max / 1000))
end
