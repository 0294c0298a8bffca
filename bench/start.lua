-- wrk script: a signed-in citizen starts a dossier from a procedure page (POST, a new draft each
-- time: every request has its own idempotency key). Anything but 303 counts as an error.
-- Usage: wrk ... -s start.lua URL -- COOKIE PATH FORM_BODY
local threads = {}
local cookie, path, body = "", "/", ""
local counter, bad = 0, 0

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  cookie, path, body = args[1] or "", args[2] or "/", args[3] or ""
end

function request()
  counter = counter + 1
  local b = body .. "&idem=bench-" .. tid .. "-" .. counter .. "-" .. math.random(1000000000)
  return wrk.format("POST", path, { ["Cookie"] = cookie, ["Content-Type"] = "application/x-www-form-urlencoded" }, b)
end

function response(status, headers, _)
  if status ~= 303 then bad = bad + 1 end
end

function done(summary, latency, requests)
  local wrong = 0
  for _, t in ipairs(threads) do wrong = wrong + (t:get("bad") or 0) end
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout + wrong
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, errors))
end
