-- Makes a failed or dead job due now, its attempts counted afresh.
-- KEYS: the queue's keys, as `RedisQueue::script` passes them (1 active list, 2 scheduled set,
-- 3 workers set, 4 in-flight prefix, 5 dead set, 6 done set, 7 finished index, 8 data hash,
-- 9 meta prefix, 10 idempotency prefix).
-- ARGV[1]: the job's id   ARGV[2]: now (Unix seconds)
-- Returns 1 when retried, 0 when the job is neither failed nor dead.
local id, now = ARGV[1], ARGV[2]
local meta = KEYS[9] .. ':' .. id
local status = redis.call('HGET', meta, 'status')
if redis.call('SREM', KEYS[5], id) == 1 then
  redis.call('ZADD', KEYS[2], now, id)
elseif status == 'Failed' and redis.call('ZSCORE', KEYS[2], id) then
  redis.call('ZADD', KEYS[2], now, id)
elseif status == 'Failed' and redis.call('LPOS', KEYS[1], id) then
  -- Already due; only its count starts again.
else
  return 0
end
redis.call('HSET', meta, 'status', 'Pending', 'attempts', 0, 'due', now)
return 1
