/**
 * Before a request. KEYS: done, inflight, maybe. ARGV: jobId, ttlSeconds.
 * -1: the chunk is settled already (a copy of a job that finished while a resumed run re-enqueued it):
 *     do not send it again.
 *  1: an earlier attempt may have reached Braze without an answer (it is still marked in flight, or it
 *     was before): this request may deliver the chunk a second time. The chunk joins `maybe`, which
 *     settle counts in possibleDuplicates, and stays there whatever later attempts answer.
 *  0: no earlier attempt can have been delivered.
 * An answer from Braze (any status) takes the chunk out of `inflight`, never out of `maybe`.
 */
export const START = `
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return -1 end
local fresh = redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
if fresh == 0 then
  redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[2])
  return 1
end
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return 1 end
return 0
`;
