-- Deletes a job no worker holds, and frees its key (as deleting its row does in SQL).
-- KEYS: the queue's keys, as `RedisQueue::script` passes them (1 active list, 2 scheduled set,
-- 3 workers set, 4 in-flight prefix, 5 dead set, 6 done set, 7 finished index, 8 data hash,
-- 9 meta prefix, 10 idempotency prefix).
-- ARGV[1]: the job's id
-- Returns 1 when deleted, 0 when there is no such job or a worker holds it.
local id = ARGV[1]
local found = redis.call('LREM', KEYS[1], 0, id) + redis.call('ZREM', KEYS[2], id)
  + redis.call('SREM', KEYS[5], id) + redis.call('SREM', KEYS[6], id)
if found == 0 then
  return 0
end
redis.call('ZREM', KEYS[7], id)
local meta = KEYS[9] .. ':' .. id
local key = redis.call('HGET', meta, 'idempotency_key')
if key and #key > 0 and redis.call('GET', KEYS[10] .. ':' .. key) == id then
  redis.call('DEL', KEYS[10] .. ':' .. key)
end
redis.call('HDEL', KEYS[8], id)
redis.call('DEL', meta)
return 1
