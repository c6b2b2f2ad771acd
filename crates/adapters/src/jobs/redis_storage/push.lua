-- Pushes one job, stored as apalis-redis's push script stores it, except that a job due now goes
-- straight to the active list: apalis' script puts every job in the scheduled set, and its
-- fetch moves all the due ones at once with one `unpack`, which Lua refuses past about 8,000.
-- KEYS: the queue's keys, as `RedisQueue::script` passes them (1 active list, 2 scheduled set,
-- 3 workers set, 4 in-flight prefix, 5 dead set, 6 done set, 7 finished index, 8 data hash,
-- 9 meta prefix, 10 idempotency prefix).
-- ARGV[1]: the job's id   ARGV[2]: the job (JSON)   ARGV[3]: its attempts in all
-- ARGV[4]: its metadata (a JSON object of strings)   ARGV[5]: when it is due (Unix seconds)
-- ARGV[6]: its key, or ''   ARGV[7]: how long the key is kept (seconds)   ARGV[8]: now
-- Returns 1 when pushed, 0 when its key was pushed already.
local id, key = ARGV[1], ARGV[6]
if #key > 0 and not redis.call('SET', KEYS[10] .. ':' .. key, id, 'NX', 'EX', ARGV[7]) then
  return 0
end
if redis.call('HSETNX', KEYS[8], id, ARGV[2]) == 0 then
  return 0
end
local meta = {'attempts', 0, 'max_attempts', ARGV[3], 'status', 'Pending', 'idempotency_key', key}
for field, value in pairs(cjson.decode(ARGV[4])) do
  meta[#meta + 1] = field
  meta[#meta + 1] = value
end
redis.call('HSET', KEYS[9] .. ':' .. id, unpack(meta))
if tonumber(ARGV[5]) > tonumber(ARGV[8]) then
  redis.call('ZADD', KEYS[2], ARGV[5], id)
else
  redis.call('RPUSH', KEYS[1], id)
end
return 1
