/**
 * KEYS: run, rejected, batches. ARGV: owner, leaseUntil, mode, now, ownerGone (1: the caller knows
 * the owner died). Starts reading a stopped run's
 * input again, owned by the caller: the producer's counts and its rejected rows are recounted from
 * scratch; what workers counted (accepted, failed, requests) stays. A run that is completed or
 * cancelled is left alone, and so is one whose owner still holds its lease. Returns the status it
 * found, or 'owned' when another process holds the run.
 */
export const RESUME = `
local st = redis.call('HGET', KEYS[1], 'status')
if st == 'completed' or st == 'completed_with_errors' or st == 'cancelled' then return st end
local lease = tonumber(redis.call('HGET', KEYS[1], 'leaseUntil') or '0')
if (st == 'reading' or st == 'sending') and lease > tonumber(ARGV[4]) and ARGV[5] ~= '1' then return 'owned' end
local rejected = tonumber(redis.call('HGET', KEYS[1], 'rowsRejected') or '0')
-- (Redis refuses "-0" as an increment, so only when there is something to take back.)
if rejected > 0 then redis.call('HINCRBY', KEYS[1], 'deadLetters', -rejected) end
redis.call('HSET', KEYS[1], 'rowsRead', 0, 'rowsValid', 0, 'rowsRejected', 0, 'chunks', 0, 'objects', 0,
  'dataPoints', 0, 'bytesRead', 0, 'producerDone', '0', 'status', 'reading', 'owner', ARGV[1], 'leaseUntil', ARGV[2],
  'seenAt', ARGV[4], 'mode', ARGV[3])
redis.call('HDEL', KEYS[1], 'reason', 'finishedAt')
redis.call('HINCRBY', KEYS[1], 'resumes', 1)
redis.call('DEL', KEYS[2], KEYS[3])
return st
`;
