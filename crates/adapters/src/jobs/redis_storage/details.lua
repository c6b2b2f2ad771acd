-- What the admin's list shows of some jobs.
-- KEYS: the queue's keys, as `RedisQueue::script` passes them (1 active list, 2 scheduled set,
-- 3 workers set, 4 in-flight prefix, 5 dead set, 6 done set, 7 finished index, 8 data hash,
-- 9 meta prefix, 10 idempotency prefix).
-- ARGV: the jobs' ids.
-- Returns a flat list of {job, attempts, max_attempts, result, idempotency_key, due} per id (''
-- where absent; a job discarded meanwhile has an empty job).
local out = {}
for _, id in ipairs(ARGV) do
  local fields = redis.call('HMGET', KEYS[9] .. ':' .. id, 'attempts', 'max_attempts', 'result',
    'idempotency_key', 'due')
  out[#out + 1] = redis.call('HGET', KEYS[8], id) or ''
  for i = 1, 5 do out[#out + 1] = fields[i] or '' end
end
return out
