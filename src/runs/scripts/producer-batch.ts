/**
 * KEYS: run, rejected, batches, rejectedLines. ARGV: seq, ttlSeconds, nCounters, name, delta, ...,
 * then line, rejectionJson pairs. One producer batch, once: a single script call that ioredis may re-send after
 * a dropped connection, and the batch ledger makes the second delivery a no-op. A rejected row's
 * letter is written once per source line however many readings of the input meet it (a resume, or
 * batches recorded out of order by a producer killed mid-flush), and counted in deadLetters then.
 */
export const PRODUCER_BATCH = `
if redis.call('SADD', KEYS[3], ARGV[1]) == 0 then return 0 end
local n = tonumber(ARGV[3])
for i = 0, n - 1 do redis.call('HINCRBY', KEYS[1], ARGV[4 + 2 * i], ARGV[5 + 2 * i]) end
local fresh = 0
for i = 4 + 2 * n, #ARGV, 2 do
  if redis.call('SADD', KEYS[4], ARGV[i]) == 1 then
    redis.call('RPUSH', KEYS[2], ARGV[i + 1])
    fresh = fresh + 1
  end
end
if fresh > 0 then
  redis.call('HINCRBY', KEYS[1], 'deadLetters', fresh)
  for _, key in ipairs({KEYS[2], KEYS[4]}) do
    if redis.call('TTL', key) == -1 then redis.call('EXPIRE', key, ARGV[2]) end
  end
end
return 1
`;
