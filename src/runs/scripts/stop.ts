/**
 * KEYS: run. ARGV: status, reason, now. Ends a live run (reading or sending) with a status that says
 * why (interrupted, halted, failed, cancelled); a run already ended keeps what it has, except that a
 * cancel also ends a stopped (interrupted, halted, failed) run. Returns the status it found.
 */
export const STOP = `
local st = redis.call('HGET', KEYS[1], 'status')
if not st then return false end
local live = st == 'reading' or st == 'sending'
local stopped = st == 'interrupted' or st == 'halted' or st == 'failed'
if live or (ARGV[1] == 'cancelled' and stopped) then
  redis.call('HSET', KEYS[1], 'status', ARGV[1], 'finishedAt', ARGV[3])
  if ARGV[2] ~= '' then redis.call('HSET', KEYS[1], 'reason', ARGV[2]) end
  redis.call('HDEL', KEYS[1], 'leaseUntil', 'owner')
end
return st
`;
