-- wrk script: the authorization code exchange. Every request POSTs a different authorization
-- code to the token endpoint (client_secret_basic, PKCE verifier, exact redirect URI). Codes are
-- read from a file (one a line, in the order they were issued); thread k of T takes lines
-- k, k+T, k+2T… so no code is sent twice. A thread that runs out of codes stops (and says so:
-- the run is then invalid).
--
-- The requests are built in init(), before wrk starts its clock, so that the load generator
-- spends as little of the machine as it can during the run (it shares the two cores with the
-- server). With CHECK_BODIES=1 in the environment (the warm-up run), every answer other than a
-- 200 with an ID token is counted and reported; without it (the measured run) wrk does not hand
-- answers to Lua at all — building a table of headers and a body string for each cost it a
-- third of its CPU — and every answer with a status of 400 or more is counted as an error.
--
--   [CHECK_BODIES=1] wrk -t2 … -s exchange.lua URL -- CODES_FILE THREADS BASIC_CREDENTIALS REDIRECT_URI VERIFIER TOKEN_PATH
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
  local tail = "&redirect_uri=" .. urlencode(redirect_uri) .. "&code_verifier=" .. urlencode(verifier)
  local headers = {
    ["Authorization"] = "Basic " .. basic,
    ["Content-Type"] = "application/x-www-form-urlencoded",
  }
  codes = {}
  local i = 0
  for line in io.lines(file) do
    if line ~= "" then
      if i % nthreads == tid - 1 then
        table.insert(codes, wrk.format("POST", path, headers, "grant_type=authorization_code&code=" .. urlencode(line) .. tail))
      end
      i = i + 1
    end
  end
  ncodes = #codes
  nextcode = 1
  sent = 0
  ok = 0
  bad = 0
  exhausted = 0
  first_bad = ""
  -- wrk calls request() once before the run to check the script: that request is never sent
  -- and costs one code, which is why `sent` is counted in response(), not here.
end

function request()
  local r = codes[nextcode]
  if r == nil then
    exhausted = 1
    wrk.thread:stop()
    r = wrk.format("POST", path, nil, "grant_type=authorization_code&code=exhausted")
  end
  nextcode = nextcode + 1
  return r
end

checking = os.getenv("CHECK_BODIES") == "1"
if checking then
  function response(status, hdrs, body)
    if status == 200 and string.find(body, '"id_token"', 1, true) then
      ok = ok + 1
    else
      bad = bad + 1
      if first_bad == "" then first_bad = status .. " " .. string.sub(body or "", 1, 200) end
    end
  end
end

function done(summary, latency, requests)
  local ok_n, bad_n, exh, codes_n, first = 0, 0, 0, 0, ""
  for _, t in ipairs(threads) do
    ok_n = ok_n + t:get("ok")
    bad_n = bad_n + t:get("bad")
    exh = exh + t:get("exhausted")
    codes_n = codes_n + t:get("ncodes")
    if first == "" then first = t:get("first_bad") end
  end
  local e = summary.errors
  local errors = bad_n + e.connect + e.read + e.write + e.timeout
  if not checking then
    errors = e.status + e.connect + e.read + e.write + e.timeout
    ok_n = summary.requests - errors
  end
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d ok=%d errors=%d exhausted=%d codes=%d secs=%.2f\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, ok_n, errors, exh, codes_n, summary.duration / 1e6))
  if first ~= "" then io.write("FIRST_ERROR " .. first .. "\n") end
end
