-- wrk script: rotates through realistic requests. Usage: wrk ... -s paths.lua URL -- KIND
-- KIND: api-search | page-search | page-procedure | healthz
local kind = "healthz"
local queries = {
  "dang%20ky%20khai%20sinh", "khai%20sinh", "%C4%90%C4%82NG%20K%C3%9D%20K%E1%BA%BET%20H%C3%94N", "giay%20phep%20xay%20dung",
  "thuong%20tru", "chung%20thuc%20ban%20sao", "ly%20lich%20tu%20phap", "can%20cuoc", "ho%20kinh%20doanh", "dat%20dai",
  "tam%20tru", "khai%20tu", "xac%20nhan%20tinh%20trang%20hon%20nhan", "trich%20luc", "giay%20phep%20lai%20xe", "doanh%20nghiep",
}
local codes = { "1.001193", "1.000894", "2.000815", "1.004222", "1.004194", "2.001195", "1.013225", "9.000001", "9.000500", "9.001500" }
local i = 0

function init(args)
  if args[1] then kind = args[1] end
end

function request()
  i = i + 1
  local path
  if kind == "api-search" then
    path = "/api/v1/procedures?q=" .. queries[(i % #queries) + 1]
  elseif kind == "page-search" then
    path = "/procedures?q=" .. queries[(i % #queries) + 1]
  elseif kind == "page-procedure" then
    path = "/procedures/" .. codes[(i % #codes) + 1]
  else
    path = "/healthz"
  end
  return wrk.format("GET", path)
end

function done(summary, latency, requests)
  local errors = summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.status + summary.errors.timeout
  io.write(string.format("RESULT rps=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f requests=%d errors=%d\n",
    summary.requests / (summary.duration / 1e6), latency:percentile(50) / 1000, latency:percentile(99) / 1000,
    latency.max / 1000, summary.requests, errors))
end
