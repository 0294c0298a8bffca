-- wrk script: a signed-in officer's processing inbox, rotating over the page's filters.
-- Usage: wrk ... -s inbox.lua URL -- COOKIE PATH [PATH…]
local cookie = ""
local paths = {}
local i = 0

function init(args)
  cookie = args[1] or ""
  for k = 2, #args do table.insert(paths, args[k]) end
  if #paths == 0 then paths = { "/office/inbox" } end
end

function request()
  i = i + 1
  return wrk.format("GET", paths[(i % #paths) + 1], { ["Cookie"] = cookie })
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, errors))
end
