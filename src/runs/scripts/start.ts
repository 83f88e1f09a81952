/**
 * Before a request, as Lua functions over `k` (a table of the run's keys: done, inflight, maybe,
 * lanes, waiters, deadusers), so that the sender can run them together with the send gate in
 * one call (src/send/take.ts), and START runs them alone.
 *
 * start_check(k, id, ttl, lane, needs, waiter):
 *   -1: the chunk is settled already (a copy of a job that finished while a resumed run re-enqueued
 *       it): do not send it again.
 *   -2: its lane has not yet finished every chunk up to `needs` (an earlier chunk with one of its
 *       users is still under way): not sent; the job is recorded as waiting (as `waiter`: the queued
 *       job that holds the chunk, itself or its group), and the settle that moves the lane far
 *       enough names it to be woken. A group with several chunks waiting keeps the lowest (lane,
 *       needs) they gave (ZADD LT): the one whose blocker is surely outside the group.
 *    0: it may go.
 * start_mark(k, id, ttl): marks the request in flight.
 *    1: an earlier attempt may have reached Braze without an answer (it is still marked in flight,
 *       or it was before): this request may deliver the chunk a second time. The chunk joins
 *       `maybe`, which settle counts in possibleDuplicates, and stays there whatever later attempts
 *       answer. An answer from Braze (any status) takes it out of `inflight`, never out of `maybe`.
 *    0: no earlier attempt can have been delivered.
 * start_extras(k): 1 when the run has dead-lettered users (the caller then records which
 *   attributes this chunk writes for them, see later.ts).
 * The request body kept for the job is not read here: a 20 KB value passed through Lua (into a Lua
 * string and out again) cost Redis about as much as the rest of the check and the gate's take
 * together. The caller reads it with a plain HGET sent in the same write (withBody, store.ts).
 */
export const START_FUNCTIONS = `
local function start_check(k, id, ttl, lane, needs, waiter)
  if redis.call('SISMEMBER', k.done, id) == 1 then return -1 end
  if needs >= 0 then
    local finished = tonumber(redis.call('HGET', k.lanes, lane) or '-1')
    if finished < needs then
      redis.call('ZADD', k.waiters, 'LT', tonumber(lane) * 4294967296 + needs, waiter)
      redis.call('EXPIRE', k.waiters, ttl)
      return -2
    end
  end
  return 0
end
local function start_mark(k, id, ttl)
  local fresh = redis.call('SADD', k.inflight, id)
  redis.call('EXPIRE', k.inflight, ttl)
  if fresh == 0 then
    redis.call('SADD', k.maybe, id)
    redis.call('EXPIRE', k.maybe, ttl)
    return 1
  end
  if redis.call('SISMEMBER', k.maybe, id) == 1 then return 1 end
  return 0
end
local function start_extras(k)
  return redis.call('SCARD', k.deadusers) > 0 and 1 or 0
end
local function run_keys(offset)
  return {done = KEYS[offset], inflight = KEYS[offset + 1], maybe = KEYS[offset + 2],
    lanes = KEYS[offset + 3], waiters = KEYS[offset + 4], deadusers = KEYS[offset + 5]}
end
`;

/**
 * KEYS: done, inflight, maybe, lanes, waiters, deadusers. ARGV: jobId, ttlSeconds, lane,
 * needs, [waiter] (default: jobId). Returns {mark, dead}: mark -1 or -2 as start_check, else start_mark's.
 */
export const START = `${START_FUNCTIONS}
local k = run_keys(1)
local c = start_check(k, ARGV[1], ARGV[2], ARGV[3], tonumber(ARGV[4]), ARGV[5] or ARGV[1])
if c < 0 then return {c, 0} end
local m = start_mark(k, ARGV[1], ARGV[2])
return {m, start_extras(k)}
`;
