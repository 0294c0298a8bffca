-- wrk script: the authorization code exchange. Every request POSTs a different authorization
-- code to the token endpoint (client_secret_basic, PKCE verifier, exact redirect URI). Codes are
-- read from a file (one a line, in the order they were issued); thread k of T takes lines
-- k, k+T, k+2T… so no code is sent twice. A thread that runs out of codes stops (and says so:
-- the run is then invalid). Every answer other than a 200 with an ID token is counted and reported.
--
--   wrk -t2 … -s exchange.lua URL -- CODES_FILE THREADS BASIC_CREDENTIALS REDIRECT_URI VERIFIER TOKEN_PATH
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

local function urlencode(s)
  return (s:gsub("[^%w%-%._~]", function(c) return string.format("%%%02X", string.byte(c)) end))
end

function init(args)
  local file, nthreads = args[1], tonumber(args[2])
  basic, redirect_uri, verifier, path = args[3], args[4], args[5], args[6]
  codes = {}
  local i = 0
  for line in io.lines(file) do
    if line ~= "" then
      if i % nthreads == tid - 1 then table.insert(codes, line) end
      i = i + 1
    end
  end
  nextcode = 1
  sent = 0
  ok = 0
  bad = 0
  exhausted = 0
  first_bad = ""
  tail = "&redirect_uri=" .. urlencode(redirect_uri) .. "&code_verifier=" .. urlencode(verifier)
  headers = {
    ["Authorization"] = "Basic " .. basic,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  -- wrk calls request() once before the run to check the script: that request is never sent
  -- and costs one code, which is why `sent` is counted in response(), not here.
end

function request()
  local code = codes[nextcode]
  if code == nil then
    exhausted = 1
    wrk.thread:stop()
    code = "exhausted"
  end
  nextcode = nextcode + 1
  return wrk.format("POST", path, headers, "grant_type=authorization_code&code=" .. urlencode(code) .. tail)
end

function response(status, hdrs, body)
  if status == 200 and string.find(body, '"id_token"', 1, true) then
    ok = ok + 1
  else
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 200) end
  end
end

function done(summary, latency, requests)
  local ok_n, bad_n, exh, codes_n, first = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    ok_n = ok_n + t:get("ok")
    bad_n = bad_n + t:get("bad")
    exh = exh + t:get("exhausted")
    codes_n = codes_n + #t:get("codes")
    if first == "" then first = t:get("first_bad") end
  end
  local e = summary.errors
  local errors = bad_n + e.connect + e.read + e.write + e.timeout
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d ok=%d errors=%d exhausted=%d codes=%d secs=%.2f\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, ok_n, errors, exh, codes_n, summary.duration / 1e6))
  if first ~= "" then io.write("FIRST_ERROR " .. first .. "\n") end
end
