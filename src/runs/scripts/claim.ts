/**
 * KEYS: done, enqueued, run. ARGV: jobIds. For each id: 0 if already settled (skip it), else 1 (add
 * it; BullMQ ignores an id still queued). jobsOpen grows only for ids never claimed before, so a
 * resumed run that enqueues its chunks again does not count them twice, and a worker that claims a
 * chunk's continuations before adding them (and crashes in between) does not either.
 */
export const CLAIM = `
local out = {}
for i = 1, #ARGV do
  if redis.call('SISMEMBER', KEYS[1], ARGV[i]) == 1 then
    out[i] = 0
  else
    if redis.call('SADD', KEYS[2], ARGV[i]) == 1 then redis.call('HINCRBY', KEYS[3], 'jobsOpen', 1) end
    out[i] = 1
  end
end
return out
`;
