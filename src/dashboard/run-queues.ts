import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TrackQueueData } from '../../schemas/track.js';
import { createTrackQueue, trackQueueName } from '../infra/queues.js';
import { isCompleted, type RunStore } from '../runs/store.js';

/** The queues the dashboard shows: one per recent run that may still hold chunks. */
export interface RunQueues {
  current(): Promise<Queue<TrackQueueData>[]>;
  close(): Promise<void>;
}

/**
 * Queues of the most recent runs that are not finished with them (a completed or cancelled run's
 * queue is removed). Queue objects are kept per run and closed when their run drops off the list.
 */
export function runQueues(redis: Redis, prefix: string, runs: RunStore, limit = 20): RunQueues {
  const open = new Map<string, Queue<TrackQueueData>>();
  return {
    async current() {
      const wanted = new Set<string>();
      for (const run of await runs.recent(limit)) {
        if (isCompleted(run.status) || run.status === 'cancelled') continue;
        wanted.add(run.runId);
        if (!open.has(run.runId)) open.set(run.runId, createTrackQueue(redis, prefix, run.runId));
      }
      for (const [id, q] of open) {
        if (wanted.has(id)) continue;
        open.delete(id);
        await q.close().catch(() => undefined);
      }
      return [...open.values()];
    },
    async close() {
      for (const q of open.values()) await q.close().catch(() => undefined);
      open.clear();
    },
  };
}

export { trackQueueName };
