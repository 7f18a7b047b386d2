-- wrk script for bench/ingest.py: keep-alive POSTs of one 5-field line protocol line to /api/v2/write.
-- The key comes from the BENCH_TOKEN environment variable; each thread cycles through 50 devices.
-- With BENCH_WRK_GET=1 it sends plain GETs to the URL's path instead (the GET /health ceiling).
local token = os.getenv("BENCH_TOKEN")
local get_only = os.getenv("BENCH_WRK_GET") == "1"
local bodies = {}
local n = 0

function init(args)
  if get_only then
    bodies[1] = wrk.format("GET")
    return
  end
  for d = 0, 49 do
    -- No timestamp: the server stamps the line, so every request is a new point.
    bodies[#bodies + 1] = wrk.format("POST", "/api/v2/write", {
      ["Authorization"] = "Token " .. token,
      ["Content-Type"] = "text/plain; charset=utf-8",
    }, string.format("edge,device=dev-%03d cpu=1.5,mem=40.2,disk=70.1,load=0.3,temp=48", d))
  end
end

function request()
  n = n + 1
  return bodies[(n % #bodies) + 1]
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "BENCH requests=%d duration_us=%d p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
    summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
