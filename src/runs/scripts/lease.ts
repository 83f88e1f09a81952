/**
 * KEYS: run. ARGV: owner, leaseUntil, now. The owner of a live run says it is still there; a run whose
 * lease lapses while reading or sending was abandoned (a process killed without a word). Returns the
 * run's status, so the owner also hears of a cancel from elsewhere; the lease is renewed only while
 * the caller still owns a live run.
 */
export const LEASE = `
local st = redis.call('HGET', KEYS[1], 'status')
if (st == 'reading' or st == 'sending') and redis.call('HGET', KEYS[1], 'owner') == ARGV[1] then
  redis.call('HSET', KEYS[1], 'leaseUntil', ARGV[2], 'seenAt', ARGV[3])
end
return st
`;
