-- Deletes a job no worker holds, and frees its key (as deleting its row does in SQL).
-- KEYS[1]: the active list   KEYS[2]: the scheduled set   KEYS[3]: the dead set
-- KEYS[4]: the done set   KEYS[5]: the finished index   KEYS[6]: the data hash
-- KEYS[7]: the meta prefix   KEYS[8]: the idempotency prefix
-- ARGV[1]: the job's id
-- Returns 1 when deleted, 0 when there is no such job or a worker holds it.
local id = ARGV[1]
local found = redis.call('LREM', KEYS[1], 0, id) + redis.call('ZREM', KEYS[2], id)
  + redis.call('SREM', KEYS[3], id) + redis.call('SREM', KEYS[4], id)
if found == 0 then
  return 0
end
redis.call('ZREM', KEYS[5], id)
local meta = KEYS[7] .. ':' .. id
local key = redis.call('HGET', meta, 'idempotency_key')
if key and #key > 0 and redis.call('GET', KEYS[8] .. ':' .. key) == id then
  redis.call('DEL', KEYS[8] .. ':' .. key)
end
redis.call('HDEL', KEYS[6], id)
redis.call('DEL', meta)
return 1
