-- wrk script for bench/push.py, bench/opsmetrics.py and bench/registry.py: keep-alive requests of one kind.
-- BENCH_MODE (default write): write = POST one 5-field line protocol line to /api/v2/write (50 devices in
-- rotation, no timestamp: each push is a new point); push = PUT a 10-gauge group to one of BENCH_SIZE
-- Pushgateway groups at random; inc = PUT /api/v1/gauges/bench_counter_<0..15>/inc; health = GET /health.
-- BENCH_WRK_GET=1 sends plain GETs to the URL's path instead (the GET /health ceiling).
-- BENCH_TOKEN, when set, is sent as the key (Pushgateway gets none).
local mode = os.getenv("BENCH_MODE") or "write"
local size = tonumber(os.getenv("BENCH_SIZE") or "1")
local token = os.getenv("BENCH_TOKEN") or ""
if os.getenv("BENCH_WRK_GET") == "1" then
  mode = "get"
end
local bodies = {}
local gauge_headers = {["Content-Type"] = "text/plain; version=0.0.4"}
if token ~= "" then
  gauge_headers["Authorization"] = "Bearer " .. token
end
local n = 0

local function group_body(seed)
  local parts = {}
  for g = 0, 9 do
    parts[#parts + 1] = string.format(
      '# TYPE bench_gauge_%d gauge\nbench_gauge_%d{kind="k%d"} %.1f\n', g, g, g, seed * 0.5 + g)
  end
  return table.concat(parts)
end

function init(args)
  math.randomseed(tonumber(os.getenv("BENCH_SEED") or "1"))
  if mode == "get" then
    bodies[1] = wrk.format("GET")
  elseif mode == "write" then
    for d = 0, 49 do
      bodies[#bodies + 1] = wrk.format("POST", "/api/v2/write", {
        ["Authorization"] = "Token " .. token,
        ["Content-Type"] = "text/plain; charset=utf-8",
      }, string.format("edge,device=dev-%03d cpu=1.5,mem=40.2,disk=70.1,load=0.3,temp=48", d))
    end
  end
end

function request()
  n = n + 1
  if mode == "push" then
    local i = math.random(0, size - 1)
    return wrk.format("PUT", string.format("/metrics/job/bench/instance/host-%05d", i), gauge_headers, group_body(i + n))
  elseif mode == "inc" then
    return wrk.format("PUT", string.format("/api/v1/gauges/bench_counter_%d/inc", n % 16), gauge_headers, "")
  elseif mode == "health" then
    return wrk.format("GET", "/health", gauge_headers)
  end
  return bodies[(n % #bodies) + 1]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
