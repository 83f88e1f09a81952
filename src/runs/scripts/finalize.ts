/**
 * A Lua function shared by the scripts that can end a run: whoever brings the open jobs to zero after
 * reading ended closes it. Only a live run (reading or sending) can be closed: a cancelled, halted or
 * interrupted run keeps its status while the requests that were in flight settle.
 */
export const FINALIZE = `
local function finalize(run, now)
  local st = redis.call('HGET', run, 'status')
  if st ~= 'reading' and st ~= 'sending' then return end
  if redis.call('HGET', run, 'producerDone') ~= '1' then return end
  if tonumber(redis.call('HGET', run, 'jobsOpen') or '0') > 0 then return end
  local dl = tonumber(redis.call('HGET', run, 'deadLetters') or '0')
  redis.call('HSET', run, 'status', dl > 0 and 'completed_with_errors' or 'completed', 'finishedAt', now)
  redis.call('HDEL', run, 'leaseUntil', 'owner')
end
`;
