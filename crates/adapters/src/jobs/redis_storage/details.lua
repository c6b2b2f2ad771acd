-- What the admin's list shows of some jobs.
-- KEYS[1]: the data hash   KEYS[2]: the meta prefix
-- ARGV: the jobs' ids.
-- Returns a flat list of {job, attempts, max_attempts, result, idempotency_key} per id ('' where
-- absent; a job discarded meanwhile has an empty job).
local out = {}
for _, id in ipairs(ARGV) do
  local fields = redis.call('HMGET', KEYS[2] .. ':' .. id, 'attempts', 'max_attempts', 'result',
    'idempotency_key')
  out[#out + 1] = redis.call('HGET', KEYS[1], id) or ''
  for i = 1, 4 do out[#out + 1] = fields[i] or '' end
end
return out
