/** The producer's counts: recounted by every reading of the input (see RESUME). */
export const READING_COUNTS = [
  'rowsRead',
  'rowsValid',
  'rowsRejected',
  'chunks',
  'objects',
  'dataPoints',
  'bytesRead',
] as const;

/**
 * KEYS: run, batches. ARGV: owner, leaseUntil, mode, now, ownerGone (1: the caller knows the owner
 * died). Starts reading a stopped run's input again, owned by the caller. The producer's counts are
 * recounted from scratch; what workers counted (accepted, failed, requests) stays. The reading that
 * got furthest so far is kept as `best*` (a resumed reading that stops sooner is shown with it, so
 * what was sent never exceeds what was read); rejected rows' letters stay, and a new reading adds
 * only those of lines not yet written (see producer-batch.ts). A run that is completed or cancelled is left
 * alone, and so is one whose owner still holds its lease. Returns the status it found, or 'owned'
 * when another process holds the run.
 */
export const RESUME = `
local st = redis.call('HGET', KEYS[1], 'status')
if st == 'completed' or st == 'completed_with_errors' or st == 'cancelled' then return st end
local lease = tonumber(redis.call('HGET', KEYS[1], 'leaseUntil') or '0')
if (st == 'reading' or st == 'sending') and lease > tonumber(ARGV[4]) and ARGV[5] ~= '1' then return 'owned' end
local counts = {${READING_COUNTS.map((c) => `'${c}'`).join(', ')}}
local read = tonumber(redis.call('HGET', KEYS[1], 'rowsRead') or '0')
if read > tonumber(redis.call('HGET', KEYS[1], 'bestRowsRead') or '-1') then
  for _, c in ipairs(counts) do
    redis.call('HSET', KEYS[1], 'best' .. string.upper(string.sub(c, 1, 1)) .. string.sub(c, 2),
      redis.call('HGET', KEYS[1], c) or '0')
  end
end
for _, c in ipairs(counts) do redis.call('HSET', KEYS[1], c, 0) end
redis.call('HSET', KEYS[1], 'producerDone', '0', 'status', 'reading', 'owner', ARGV[1], 'leaseUntil', ARGV[2],
  'seenAt', ARGV[4], 'mode', ARGV[3])
redis.call('HDEL', KEYS[1], 'reason', 'finishedAt')
redis.call('HINCRBY', KEYS[1], 'resumes', 1)
redis.call('DEL', KEYS[2])
return st
`;
