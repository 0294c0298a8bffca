-- wrk script: GET userinfo with one bearer access token (scope `openid profile`); every answer
-- other than a 200 with the name claim is counted and reported.
--
--   wrk … -s userinfo.lua URL -- ACCESS_TOKEN USERINFO_PATH
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  req = wrk.format("GET", args[2], { ["Authorization"] = "Bearer " .. args[1] })
  ok = 0
  bad = 0
  first_bad = ""
end

function request()
  return req
end

function response(status, hdrs, body)
  if status == 200 and string.find(body, '"name"', 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 200) end
  end
end

function done(summary, latency, requests)
  local ok_n, bad_n, first = 0, 0, ""
  for _, t in ipairs(threads) do
    ok_n = ok_n + t:get("ok")
    bad_n = bad_n + t:get("bad")
    if first == "" then first = t:get("first_bad") end
  end
  local e = summary.errors
  local errors = bad_n + e.connect + e.read + e.write + e.timeout
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d ok=%d errors=%d exhausted=0 codes=0 secs=%.2f\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, ok_n, errors, summary.duration / 1e6))
  if first ~= "" then io.write("FIRST_ERROR " .. first .. "\n") end
end
