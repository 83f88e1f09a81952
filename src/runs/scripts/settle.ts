import { FINALIZE } from './finalize.js';

/**
 * A chunk's outcome, once per job id (the ledger), so a job processed twice after a crash is counted
 * once. KEYS: done, run, dlq, inflight, maybe. ARGV: jobId, now, ttlSeconds, nCounters, name, delta,
 * ..., deadLetterJson...
 *
 * A chunk in `maybe` had an attempt that may have reached Braze unanswered before a later attempt was
 * made: it is counted once in possibleDuplicates here, whatever the later attempts answered. The
 * ledger and the dead-letter list may be created here: they get the retention TTL here.
 */
export const SETTLE = `${FINALIZE}
local function keep(key) if redis.call('TTL', key) == -1 then redis.call('EXPIRE', key, ARGV[3]) end end
redis.call('SREM', KEYS[4], ARGV[1])
local twice = redis.call('SREM', KEYS[5], ARGV[1])
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
keep(KEYS[1])
if twice == 1 then redis.call('HINCRBY', KEYS[2], 'possibleDuplicates', 1) end
local n = tonumber(ARGV[4])
for i = 0, n - 1 do redis.call('HINCRBY', KEYS[2], ARGV[5 + 2 * i], ARGV[6 + 2 * i]) end
if #ARGV >= 5 + 2 * n then
  for i = 5 + 2 * n, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
  keep(KEYS[3])
end
finalize(KEYS[2], ARGV[2])
return 1
`;
