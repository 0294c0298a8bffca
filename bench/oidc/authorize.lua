-- wrk script: mints authorization codes for the exchange benchmark, as a browser with a signed-in
-- session and consent already given gets them: `GET authorize` (PKCE S256, a fresh state and
-- nonce each time) answers at once with a redirect carrying the code. Thread k writes the codes
-- it gets to OUT.k, one a line, in the order they come; when it has its share of COUNT it writes
-- OUT.k.done and stops (bench/oidc.sh then interrupts wrk and interleaves the files).
-- Anything but a redirect with a code is an error.
--
--   wrk -t2 … -s authorize.lua URL -- OUT COUNT THREADS AUTHORIZE_PATH QUERY COOKIE
-- QUERY is the authorize query without state and nonce (already URL-encoded).
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  out_path = args[1] .. "." .. tid
  quota = math.ceil(tonumber(args[2]) / tonumber(args[3]))
  path, query = args[4], args[5]
  headers = { ["Cookie"] = args[6] }
  out = io.open(out_path, "w")
  minted = 0
  bad = 0
  first_bad = ""
  -- Seeded per thread, so two threads never send the same state.
  math.randomseed(os.time() * 100 + tid)
end

local alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
local function random16()
  local t = {}
  for i = 1, 16 do
    local k = math.random(1, 64)
    t[i] = string.sub(alphabet, k, k)
  end
  return table.concat(t)
end

function request()
  return wrk.format("GET", path .. "?" .. query .. "&state=" .. random16() .. "&nonce=" .. random16(), headers)
end

function response(status, hdrs, body)
  -- Answers still arrive in the moment after the thread stops.
  if minted >= quota then return end
  local loc = hdrs["location"] or hdrs["Location"] or ""
  local code = string.match(loc, "[?&]code=([^&]+)")
  if code then code = string.gsub(code, "%%(%x%x)", function(h) return string.char(tonumber(h, 16)) end) end
  if (status == 302 or status == 303) and code then
    out:write(code, "\n")
    minted = minted + 1
    if minted >= quota then
      out:close()
      io.open(out_path .. ".done", "w"):close()
      wrk.thread:stop()
    end
  else
    bad = bad + 1
    if first_bad == "" then first_bad = status .. " " .. loc .. " " .. string.sub(body or "", 1, 200) end
  end
end

function done(summary, latency, requests)
  local minted_n, bad_n, first = 0, 0, ""
  for _, t in ipairs(threads) do
    minted_n = minted_n + t:get("minted")
    bad_n = bad_n + t:get("bad")
    if first == "" then first = t:get("first_bad") end
  end
  local e = summary.errors
  -- The rate is measured by bench/oidc.sh (wrk runs on until it is interrupted).
  io.write(string.format("MINTED count=%d errors=%d\n", minted_n, bad_n + e.connect + e.read + e.write + e.timeout))
  if first ~= "" then io.write("FIRST_ERROR " .. first .. "\n") end
end
