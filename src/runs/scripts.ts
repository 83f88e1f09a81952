/**
 * The run record's atomic steps, as Lua: each reads and writes several keys of one run, and must
 * not interleave with another worker's step or be half-done by a crash.
 */

// Shared by settle and markProducerDone: whoever brings open jobs to zero after reading ended closes the run.
const FINALIZE = `
local function finalize(run, now)
  local st = redis.call('HGET', run, 'status')
  if st ~= 'reading' and st ~= 'sending' then return end
  if redis.call('HGET', run, 'producerDone') ~= '1' then return end
  if tonumber(redis.call('HGET', run, 'jobsOpen') or '0') > 0 then return end
  local dl = tonumber(redis.call('HGET', run, 'deadLetters') or '0')
  redis.call('HSET', run, 'status', dl > 0 and 'completed_with_errors' or 'completed', 'finishedAt', now)
end
`;

/**
 * KEYS: done, run, dlq, inflight. ARGV: jobId, now, ttlSeconds, nCounters, name, delta, ...,
 * deadLetterJson... Once per job id (the ledger), so a job processed twice after a crash is counted
 * once. The ledger and the dead-letter list may be created here: they get the retention TTL here.
 */
export const SETTLE = `${FINALIZE}
local function keep(key) if redis.call('TTL', key) == -1 then redis.call('EXPIRE', key, ARGV[3]) end end
redis.call('SREM', KEYS[4], ARGV[1])
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
keep(KEYS[1])
local n = tonumber(ARGV[4])
for i = 0, n - 1 do redis.call('HINCRBY', KEYS[2], ARGV[5 + 2 * i], ARGV[6 + 2 * i]) end
if #ARGV >= 5 + 2 * n then
  for i = 5 + 2 * n, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
  keep(KEYS[3])
end
finalize(KEYS[2], ARGV[2])
return 1
`;

/**
 * KEYS: run, rejected, batches. ARGV: seq, nCounters, name, delta, ..., rejectionJson...
 * One producer batch, once: a single script call that ioredis may re-send after a dropped
 * connection, and the batch ledger makes the second delivery a no-op.
 */
export const PRODUCER_BATCH = `
if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 0 end
local n = tonumber(ARGV[2])
for i = 0, n - 1 do redis.call('HINCRBY', KEYS[1], ARGV[3 + 2 * i], ARGV[4 + 2 * i]) end
for i = 3 + 2 * n, #ARGV do redis.call('RPUSH', KEYS[2], ARGV[i]) end
return 1
`;

/** KEYS: run. ARGV: now. */
export const PRODUCER_DONE = `${FINALIZE}
redis.call('HSET', KEYS[1], 'producerDone', '1')
if redis.call('HGET', KEYS[1], 'status') == 'reading' then redis.call('HSET', KEYS[1], 'status', 'sending') end
finalize(KEYS[1], ARGV[1])
return redis.call('HGET', KEYS[1], 'status')
`;

/**
 * KEYS: done, enqueued, run. ARGV: jobIds. For each id: 0 if already settled (skip it), else 1 (add
 * it; BullMQ ignores an id still queued). jobsOpen grows only for ids never claimed before, so a
 * resumed run that enqueues its chunks again does not count them twice.
 */
export const CLAIM = `
local out = {}
for i = 1, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then
    out[i] = 0
  else
    if redis.call('SADD', KEYS[2], ARGV[i]) == 1 then redis.call('HINCRBY', KEYS[3], 'jobsOpen', 1) end
    out[i] = 1
  end
end
return out
`;

/**
 * KEYS: run, rejected, batches. Starts reading a run's input again: the producer's counts and its rejected
 * rows are recounted from scratch; what workers counted (accepted, failed, requests) stays.
 * Returns the status it found.
 */
export const RESUME = `
local st = redis.call('HGET', KEYS[1], 'status')
if st == 'completed' or st == 'completed_with_errors' then return st end
local rejected = tonumber(redis.call('HGET', KEYS[1], 'rowsRejected') or '0')
-- (Redis refuses "-0" as an increment, so only when there is something to take back.)
if rejected > 0 then redis.call('HINCRBY', KEYS[1], 'deadLetters', -rejected) end
redis.call('HSET', KEYS[1], 'rowsRead', 0, 'rowsValid', 0, 'rowsRejected', 0, 'chunks', 0, 'objects', 0,
  'dataPoints', 0, 'producerDone', '0', 'status', 'reading')
redis.call('HDEL', KEYS[1], 'reason', 'finishedAt')
redis.call('HINCRBY', KEYS[1], 'resumes', 1)
redis.call('DEL', KEYS[2], KEYS[3])
return st
`;

/**
 * Before a request. KEYS: done, inflight. ARGV: jobId, ttl seconds. -1: the chunk is settled already
 * (a copy of a job that finished while a resumed run re-enqueued it): do not send it again. 1: an
 * earlier attempt is still marked in flight (it may have reached Braze). 0: first attempt.
 */
export const START = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return -1 end
local added = redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
if added == 0 then return 1 end
return 0
`;
