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
