-- Deletes done jobs that finished before a cutoff, oldest first, at most a batch.
-- KEYS[1]: the finished index   KEYS[2]: the done set   KEYS[3]: the data hash
-- KEYS[4]: the meta prefix
-- ARGV[1]: the cutoff (Unix seconds)   ARGV[2]: the batch size
-- Returns {how many were looked at, how many were deleted}.
local ids = redis.call('ZRANGEBYSCORE', KEYS[1], '-inf', ARGV[1], 'LIMIT', 0, tonumber(ARGV[2]))
local deleted = 0
for _, id in ipairs(ids) do
  redis.call('ZREM', KEYS[1], id)
  -- A job run again since (its acknowledgement was lost) is not done: it stays.
  if redis.call('SREM', KEYS[2], id) == 1 then
    redis.call('HDEL', KEYS[3], id)
    redis.call('DEL', KEYS[4] .. ':' .. id)
    deleted = deleted + 1
  end
end
return {#ids, deleted}
