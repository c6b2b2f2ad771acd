-- The backlog now, as JobQueue::stats reports it.
-- KEYS: the queue's keys, as `RedisQueue::script` passes them (1 active list, 2 scheduled set,
-- 3 workers set, 4 in-flight prefix, 5 dead set, 6 done set, 7 finished index, 8 data hash,
-- 9 meta prefix, 10 idempotency prefix).
-- ARGV[1]: now (Unix seconds)
-- Returns {waiting, the oldest waiting job's due time or -1, running, dead}. The oldest is looked
-- for among the first hundred of each (the active list is in arrival order, the scheduled set
-- in due order), so that a long backlog costs no more than a short one.
local now = tonumber(ARGV[1])
local oldest = nil
local function consider(id)
  local due = tonumber(redis.call('HGET', KEYS[9] .. ':' .. id, 'due'))
  if due and (oldest == nil or due < oldest) then oldest = due end
end
for _, id in ipairs(redis.call('LRANGE', KEYS[1], 0, 99)) do consider(id) end
for _, id in ipairs(redis.call('ZRANGEBYSCORE', KEYS[2], '-inf', now, 'LIMIT', 0, 100)) do
  consider(id)
end
local waiting = redis.call('LLEN', KEYS[1]) + redis.call('ZCOUNT', KEYS[2], '-inf', now)
local running = 0
for _, worker in ipairs(redis.call('ZRANGE', KEYS[3], 0, -1)) do
  running = running + redis.call('SCARD', KEYS[4] .. ':' .. worker)
end
return {waiting, oldest or -1, running, redis.call('SCARD', KEYS[5])}
