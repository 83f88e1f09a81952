import { FINALIZE } from './finalize.js';

/**
 * A chunk's outcome, once per job id (the ledger), so a job processed twice after a crash is counted
 * once. KEYS: done, run, dlq, inflight, maybe, lanes, lanefin, waiters, bodies. ARGV: jobId, now, ttlSeconds,
 * lane, seq, finished (1: the chunk's last part), nCounters, name, delta, ..., deadLetterJson...
 *
 * A chunk in `maybe` had an attempt that may have reached Braze unanswered before a later attempt was
 * made: it is counted once in possibleDuplicates here, whatever the later attempts answered.
 *
 * When the chunk is finished, its lane moves on: `lanes` holds, per lane, the highest seq up to which
 * every chunk is finished; `lanefin` the finished ones beyond it. The jobs waiting for the lane to
 * reach that far are returned (and forgotten) so the caller can wake them.
 * The part's body is no longer needed: it leaves the bodies hash.
 * Returns {1 or 0 (counted or already recorded), waiting job ids...}.
 */
export const SETTLE = `${FINALIZE}
local function keep(key) if redis.call('TTL', key) == -1 then redis.call('EXPIRE', key, ARGV[3]) end end
redis.call('SREM', KEYS[4], ARGV[1])
local twice = redis.call('SREM', KEYS[5], ARGV[1])
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return {0} end
keep(KEYS[1])
redis.call('HDEL', KEYS[9], ARGV[1])
if twice == 1 then redis.call('HINCRBY', KEYS[2], 'possibleDuplicates', 1) end
local n = tonumber(ARGV[7])
for i = 0, n - 1 do redis.call('HINCRBY', KEYS[2], ARGV[8 + 2 * i], ARGV[9 + 2 * i]) end
if #ARGV >= 8 + 2 * n then
  for i = 8 + 2 * n, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
  keep(KEYS[3])
end
local out = {1}
if ARGV[6] == '1' then
  local lane = ARGV[4]
  local seq = tonumber(ARGV[5])
  local upto = tonumber(redis.call('HGET', KEYS[6], lane) or '-1')
  if seq == upto + 1 then
    upto = seq
    while redis.call('SREM', KEYS[7], lane .. ':' .. (upto + 1)) == 1 do upto = upto + 1 end
    redis.call('HSET', KEYS[6], lane, upto)
    keep(KEYS[6])
    local base = tonumber(lane) * 4294967296
    local ready = redis.call('ZRANGEBYSCORE', KEYS[8], base, base + upto)
    if #ready > 0 then
      redis.call('ZREMRANGEBYSCORE', KEYS[8], base, base + upto)
      for _, id in ipairs(ready) do out[#out + 1] = id end
    end
  elseif seq > upto then
    redis.call('SADD', KEYS[7], lane .. ':' .. seq)
    keep(KEYS[7])
  end
end
finalize(KEYS[2], ARGV[2])
return out
`;
