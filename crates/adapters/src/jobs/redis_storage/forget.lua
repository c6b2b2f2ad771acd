-- Deletes done jobs that finished before a cutoff, oldest first, at most a batch.
-- KEYS: the queue's keys, as `RedisQueue::script` passes them (1 active list, 2 scheduled set,
-- 3 workers set, 4 in-flight prefix, 5 dead set, 6 done set, 7 finished index, 8 data hash,
-- 9 meta prefix, 10 idempotency prefix).
-- ARGV[1]: the cutoff (Unix seconds)   ARGV[2]: the batch size
-- Returns {how many were looked at, how many were deleted}.
local ids = redis.call('ZRANGEBYSCORE', KEYS[7], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local deleted = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[7], id)
  -- A job run again since (its acknowledgement was lost) is not done: it stays.
  if redis.call('SREM', KEYS[6], id) == 1 then
    redis.call('HDEL', KEYS[8], id)
    redis.call('DEL', KEYS[9] .. ':' .. id)
    deleted = deleted + 1
  end
end
return {#ids, deleted}
