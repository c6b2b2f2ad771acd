-- Every job not done, with where it stands, for the admin's counts and list.
-- KEYS: the queue's keys, as `RedisQueue::script` passes them (1 active list, 2 scheduled set,
-- 3 workers set, 4 in-flight prefix, 5 dead set, 6 done set, 7 finished index, 8 data hash,
-- 9 meta prefix, 10 idempotency prefix).
-- ARGV[1]: now (Unix seconds)
-- Returns a flat list of {id, state, status, due} for every job not done: queued (due, waiting),
-- scheduled (due later), failed (a failed attempt, retried later), running (held by a worker),
-- dead; `status` is apalis' (Pending, Failed, Running, Killed); `due` when it is (or was) due.
local now = tonumber(ARGV[1])
local out = {}
local function meta(id, field)
  return redis.call('HGET', KEYS[9] .. ':' .. id, field)
end
local function add(id, state, status, due)
  out[#out + 1] = id
  out[#out + 1] = state
  out[#out + 1] = status or 'Pending'
  out[#out + 1] = tostring(due or 0)
end
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, -1)) do
  local status = meta(id, 'status')
  add(id, status == 'Failed' and 'failed' or 'queued', status, meta(id, 'due'))
end
local scheduled = redis.call('ZRANGE', KEYS[2], 0, -1, 'WITHSCORES')
for i = 1, #scheduled, 2 do
  local id, at = scheduled[i], tonumber(scheduled[i + 1])
  local status = meta(id, 'status')
  if status == 'Failed' then
    add(id, 'failed', status, at)
  elseif at <= now then
    add(id, 'queued', status, meta(id, 'due') or at)
  else
    add(id, 'scheduled', status, at)
  end
end
for _, worker in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  for _, id in ipairs(redis.call('SMEMBERS', KEYS[4] .. ':' .. worker)) do
    add(id, 'running', 'Running', meta(id, 'due'))
  end
end
for _, id in ipairs(redis.call('SMEMBERS', KEYS[5])) do
  add(id, 'dead', meta(id, 'status'), meta(id, 'due'))
end
return out
