/**
 * Before a request. KEYS: done, inflight, maybe, lanes, waiters, deadusers, bodies. ARGV: jobId,
 * ttlSeconds, lane, needs. Returns {mark, dead, body}: `dead` is 1 when the run has dead-lettered
 * users (then the caller records which attributes this chunk writes for them, see later.ts); `body`
 * the request body kept for the job (read here, so sending costs no round trip more). `mark`:
 * -1: the chunk is settled already (a copy of a job that finished while a resumed run re-enqueued it):
 *     do not send it again.
 * -2: its lane has not yet finished every chunk up to `needs` (an earlier chunk with one of its users
 *     is still under way): not sent; the job is recorded as waiting, and the settle that moves the
 *     lane far enough names it to be woken.
 *  1: an earlier attempt may have reached Braze without an answer (it is still marked in flight, or it
 *     was before): this request may deliver the chunk a second time. The chunk joins `maybe`, which
 *     settle counts in possibleDuplicates, and stays there whatever later attempts answer.
 *  0: no earlier attempt can have been delivered.
 * An answer from Braze (any status) takes the chunk out of `inflight`, never out of `maybe`.
 */
export const START = `
local function mark()
if redis.call('SISMEMBER', KEYS[1], ARGV[1]) == 1 then return -1 end
local needs = tonumber(ARGV[4])
if needs >= 0 then
  local finished = tonumber(redis.call('HGET', KEYS[4], ARGV[3]) or '-1')
  if finished < needs then
    redis.call('ZADD', KEYS[5], tonumber(ARGV[3]) * 4294967296 + needs, ARGV[1])
    redis.call('EXPIRE', KEYS[5], ARGV[2])
    return -2
  end
end
local fresh = redis.call('SADD', KEYS[2], ARGV[1])
redis.call('EXPIRE', KEYS[2], ARGV[2])
if fresh == 0 then
  redis.call('SADD', KEYS[3], ARGV[1])
  redis.call('EXPIRE', KEYS[3], ARGV[2])
  return 1
end
if redis.call('SISMEMBER', KEYS[3], ARGV[1]) == 1 then return 1 end
return 0
end
local m = mark()
local body = false
if m >= 0 then body = redis.call('HGET', KEYS[7], ARGV[1]) end
return {m, redis.call('SCARD', KEYS[6]) > 0 and 1 or 0, body}
`;
