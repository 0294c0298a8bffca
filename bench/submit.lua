-- wrk script: files complete dossiers (about 2 KB of answers) in one request each, every request
-- with its own Idempotency-Key so none is a retry. Usage: wrk ... -s submit.lua URL -- TOKEN
local token = ""
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  token = args[1] or ""
  thread_id = tid or 0
  local parts = {}
  for i = 0, 11 do
    table.insert(parts, string.format('"line_%02d": "%s"', i, string.rep("Thông tin kê khai số " .. i .. " ", 7)))
  end
  answers = "{" .. table.concat(parts, ", ") .. "}"
end

function request()
  counter = counter + 1
  local body = '{"procedure": "9.900001", "agency": "H26.31", "submit": true, "answers": ' .. answers .. '}'
  local headers = {
    ["Authorization"] = "Bearer " .. token,
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d", os.time(), thread_id, counter),
  }
  return wrk.format("POST", "/api/v1/dossiers", headers, body)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, errors))
end
