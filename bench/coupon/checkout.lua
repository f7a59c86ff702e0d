-- wrk script: a checkout = validate the campaign code, then redeem it for a new order.
-- Odd requests validate, even ones redeem (order ids unique per run, thread and request).
-- RATE_PER_THREAD paces the requests (see bench/pace.lua, whose path is in PACE_LUA).
local key = os.getenv("KEY")
local code = os.getenv("CODE")
local run = os.getenv("RUN") or "0"
local pace = dofile(os.getenv("PACE_LUA"))
local thread_counter = 0

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

local cart = '{"currency":"NOK","channel":"web","shipping_minor":4900,' ..
  '"lines":[{"sku":"SKU-1","category":"knitwear","quantity":2,"unit_price_minor":49900},' ..
  '{"sku":"SKU-2","category":"accessories","quantity":1,"unit_price_minor":19900}]}'

function request()
  n = n + 1
  if n % 2 == 1 then
    return wrk.format(nil, "/v1/coupons/validate", nil,
      string.format('{"code":"%s","cart":%s}', code, cart))
  end
  return wrk.format(nil, "/v1/coupons/redeem", nil, string.format(
    '{"code":"%s","cart":%s,"order":{"source":"bench","id":"%s-%d-%d"}}', code, cart, run, tid, n))
end

delay = pace.delay

function done(summary, latency, requests)
  io.write(string.format(
    "RESULT requests=%d duration_s=%.2f errors_status=%d errors_other=%d p50_ms=%.1f p99_ms=%.1f max_ms=%.1f\n",
    summary.requests, summary.duration / 1e6, summary.errors.status,
    summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
