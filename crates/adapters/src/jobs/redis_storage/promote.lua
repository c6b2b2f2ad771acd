-- Moves due jobs from the scheduled set to the active list, at most a batch (what apalis' fetch
-- does with every due job at once, which fails past about 8,000 of them).
-- KEYS: the queue's keys, as `RedisQueue::script` passes them (1 active list, 2 scheduled set,
-- 3 workers set, 4 in-flight prefix, 5 dead set, 6 done set, 7 finished index, 8 data hash,
-- 9 meta prefix, 10 idempotency prefix).
-- ARGV[1]: now (Unix seconds)   ARGV[2]: the batch size
-- Returns how many were moved.
local ids = redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
if #ids > 0 then
  redis.call('RPUSH', KEYS[1], unpack(ids))
  redis.call('ZREM', KEYS[2], unpack(ids))
end
return #ids
