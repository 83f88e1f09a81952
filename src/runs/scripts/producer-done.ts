import { FINALIZE } from './finalize.js';

/** KEYS: run. ARGV: now. Reading ended: a run with nothing open is finished here. */
export const PRODUCER_DONE = `${FINALIZE}
redis.call('HSET', KEYS[1], 'producerDone', '1')
if redis.call('HGET', KEYS[1], 'status') == 'reading' then redis.call('HSET', KEYS[1], 'status', 'sending') end
finalize(KEYS[1], ARGV[1])
return redis.call('HGET', KEYS[1], 'status')
`;
