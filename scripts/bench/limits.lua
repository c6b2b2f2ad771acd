-- wrk script for scripts/bench-limits.sh. MODE (environment):
--   api     POST a paid sentiment run to the JSON API with the key in KEY
--   sign-in POST a wrong sign-in from the client CLIENT (X-Forwarded-For, TRUST_PROXY=true), with
--           the visitor's CSRF cookie and token in COOKIE and TOKEN: past the budget, every
--           answer is the limiter's 429
--   page    GET /login
-- Prints one RESULT line: requests, rate, latency, and the answers by status.
local mode = os.getenv("MODE")
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function request()
  if mode == "api" then
    return wrk.format("POST", "/api/v1/services/text_sentiment_analysis/runs", {
      ["Authorization"] = "Bearer " .. os.getenv("KEY"),
      ["Content-Type"] = "application/json",
    }, '{"input": "This is a lovely product"}')
  elseif mode == "sign-in" then
    return wrk.format("POST", "/login", {
      ["Content-Type"] = "application/x-www-form-urlencoded",
      ["Cookie"] = os.getenv("COOKIE"),
      ["X-Forwarded-For"] = os.getenv("CLIENT"),
    }, "email=nobody%40example.com&password=wrong+password&csrf_token=" .. os.getenv("TOKEN"))
  else
    return wrk.format("GET", "/login")
  end
end

-- Globals: done() reads them from each thread.
ok = 0
limited = 0
other = 0
function response(status, headers, body)
  -- A run answers 201 (a new run), a page 200; a wrong sign-in within the budget any other
  -- status below 500.
  if status == 429 then
    limited = limited + 1
  elseif (status >= 200 and status < 300) or (mode == "sign-in" and status < 500) then
    ok = ok + 1
  else
    other = other + 1
  end
end

function done(summary, latency, requests)
  local sums = { ok = 0, limited = 0, other = 0 }
  for _, thread in ipairs(threads) do
    for name, _ in pairs(sums) do sums[name] = sums[name] + (thread:get(name) or 0) end
  end
  io.write(string.format("RESULT requests=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f ok=%d limited=%d other=%d\n",
    summary.requests, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, sums.ok, sums.limited, sums.other))
end
