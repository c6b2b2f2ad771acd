-- wrk script: GET the page named by the PAGE environment variable. With SESSIONS (a file of
-- "<cookie> <csrf token>" lines, as run.lua reads) each request sends the next account's session
-- cookie (round robin), like a signed-in browser; without it, no cookie at all, like a visitor or
-- a crawler. "reported" counts the 200 answers that did not set a session cookie.
local sessions = {}
local counter = 0
local thread_id = 0
local threads = {}
local page = os.getenv("PAGE") or "/"

function setup(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

function init(args)
  thread_id = id or 0
  local file = os.getenv("SESSIONS")
  if file and file ~= "" then
    for line in io.lines(file) do
      local cookie = line:match("^(%S+)")
      if cookie then table.insert(sessions, cookie) end
    end
  end
end

function request()
  counter = counter + 1
  if #sessions == 0 then return wrk.format("GET", page) end
  return wrk.format("GET", page, { ["Cookie"] = sessions[(counter + thread_id) % #sessions + 1] })
end

-- Global, not local: done() reads it from each thread with thread:get.
answered_ok = 0
function response(status, headers, body)
  local cookie = headers["Set-Cookie"] or headers["set-cookie"] or ""
  if status == 200 and not cookie:find("qs_session=", 1, true) then
    answered_ok = answered_ok + 1
  end
end

function done(summary, latency, requests)
  local reported = 0
  for _, thread in ipairs(threads) do reported = reported + (thread:get("answered_ok") or 0) end
  local errors = summary.errors.status + summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout
  io.write(string.format("RESULT requests=%d errors=%d reported=%d rps=%.1f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f\n",
    summary.requests, errors, reported, summary.requests / (summary.duration / 1e6),
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency.max / 1000))
end
