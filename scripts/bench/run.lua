-- wrk script: POST a sentiment run per request, like a browser submitting the service form.
-- Sessions come from the file named by the SESSIONS environment variable: one line per account,
-- "<cookie> <csrf token>". Each request uses the next session (round robin) and a fresh run key.
local sessions = {}
local counter = 0
local thread_id = 0
local threads = {}

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id or 0
  for line in io.lines(os.getenv("SESSIONS")) do
    local cookie, token = line:match("^(%S+) (%S+)$")
    if cookie then table.insert(sessions, { cookie = cookie, token = token }) end
  end
end

function request()
  counter = counter + 1
  local s = sessions[(counter + thread_id) % #sessions + 1]
  local body = "input=This+is+a+lovely+product&run_key=w" .. thread_id .. "-" .. counter .. "-" .. os.time() .. "&csrf_token=" .. s.token
  return wrk.format("POST", "/services/text_sentiment_analysis", {
    ["Content-Type"] = "application/x-www-form-urlencoded",
    ["Cookie"] = s.cookie,
  }, body)
end

-- Global, not local: done() reads it from each thread with thread:get.
charged_ok = 0
function response(status, headers, body)
  -- Every answer must state what was charged and the balance after.
  if status == 200 and body:find("Charged 1 credit") and body:find("credits remaining") then
    charged_ok = charged_ok + 1
  end
end

function done(summary, latency, requests)
  local reported = 0
  for _, thread in ipairs(threads) do reported = reported + (thread:get("charged_ok") or 0) end
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d errors=%d reported=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, errors, reported, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
