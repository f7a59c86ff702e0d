-- wrk script: every request is a new order.placed event (unique id), or a batch of them.
-- BATCH=1 sends single events; the key comes from the KEY environment variable.
-- RATE_PER_THREAD paces the requests (see bench/pace.lua, whose path is in PACE_LUA).
local batch = tonumber(os.getenv("BATCH") or "1")
local key = os.getenv("KEY")
local pace = dofile(os.getenv("PACE_LUA"))
local thread_counter = 0
local threads = {}

function setup(thread)
  thread_counter = thread_counter + 1
  thread:set("tid", thread_counter)
end

function init(args)
  n = 0
  wrk.method = "POST"
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
end

local function event(id, num)
  local customer = num % 50000
  return string.format(
    '{"idempotency_key":"bench-%s","type":"order.placed","occurred_at":"2026-03-01T10:00:00Z",' ..
    '"order":{"id":"%s","currency":"NOK","placed_at":"2026-03-01T10:00:00Z",' ..
    '"financial_status":"paid","customer":{"external_id":"c%d","email":"c%d@example.no"},' ..
    '"lines":[{"id":"1","sku":"SKU-%d","quantity":2,"unit_price":"199.00"},' ..
    '{"id":"2","sku":"SKU-%d","quantity":1,"unit_price":"49.50"}],"shipping":"49"}}',
    id, id, customer, customer, num % 200, (num + 7) % 200)
end

function request()
  n = n + 1
  local prefix = string.format("%s-%d-%d", os.getenv("RUN") or "0", tid, n)
  if batch == 1 then
    return wrk.format(nil, "/v1/events", nil, event(prefix, n * 7 + tid))
  end
  -- Each batch gets customers of its own: a block of `batch` numbers per (n, thread), with
  -- room for 16 threads, as batches from different tills or shops would. (Numbering by
  -- n * batch + i + tid put 99 of the same 100 customers in the two threads' concurrent
  -- batches; measured, that changed the rate by less than the noise between runs.)
  local parts = {}
  local first = (n * 16 + tid) * batch
  for i = 1, batch do parts[i] = event(prefix .. "-" .. i, first + i) end
  return wrk.format(nil, "/v1/events", nil, '{"events":[' .. table.concat(parts, ",") .. ']}')
end

delay = pace.delay

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f errors_status=%d errors_other=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
