import type { Redis } from 'ioredis';
import type { RunRecord } from '../runs/store.js';
import { acceptedUsers } from './changes.js';
import { openRecord } from './record.js';

/**
 * For a sender attaching to a run: when the run is a sync, what takes Braze's accepted attributes
 * into its change record (with the run's mark); undefined for any other run.
 */
export function syncCommitter(
  redis: Redis,
  run: RunRecord | undefined,
): ((attributes: Array<Record<string, unknown>>, refused: ReadonlySet<string>) => Promise<void>) | undefined {
  if (run?.kind !== 'sync' || !run.syncBase || run.syncMark === undefined || !run.syncBuckets)
    return undefined;
  const record = openRecord(redis, run.syncBase);
  const { syncMark: mark, syncBuckets: buckets } = run;
  return (attributes, refused) => record.commit(acceptedUsers(attributes, refused), mark, buckets);
}
