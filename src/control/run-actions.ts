import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TrackQueueData } from '../../schemas/track.js';
import { createTrackQueue, queuedChunkIds } from '../infra/queues.js';
import { ownerIsDead } from '../runs/owner.js';
import { isCompleted, isLive, type RunRecord, type RunStore } from '../runs/store.js';
import { isAbandoned, type Summary, summarize } from '../runs/summary.js';

/**
 * Pause, resume and cancel from outside the process that runs a run: the CLI (`cancel`) and the
 * dashboard go through here, so both leave the run record and the run's queue saying the same thing.
 */
export interface RunControl {
  redis: Redis;
  prefix: string;
  runs: RunStore;
}

/** Why an action was refused: `unknown` run (404), or a run in a state where it means nothing (409). */
export type Refusal = { ok: false; why: 'unknown' | 'state'; message: string };

export type Cancelled = { ok: true; summary: Summary; dropped: number; wasLive: boolean };

const unknown = (runId: string): Refusal => ({
  ok: false,
  why: 'unknown',
  message: `no run ${runId} (runs are kept for the retention period)`,
});

/** Chunks in a run's queue (a job may hold several) whose outcome is not recorded. */
export async function parkedChunks(
  runs: RunStore,
  queue: Queue<TrackQueueData>,
  runId: string,
): Promise<number> {
  return runs.unsettledAmong(runId, await queuedChunkIds(queue));
}

export async function withRunQueue<T>(
  c: RunControl,
  runId: string,
  body: (q: Queue<TrackQueueData>) => Promise<T>,
) {
  const queue = createTrackQueue(c.redis, c.prefix, runId);
  try {
    return await body(queue);
  } finally {
    await queue.close();
  }
}

/** Live and someone is working on it: the only runs whose queue may be paused and resumed here. */
function active(run: RunRecord): boolean {
  const dead = run.owner !== undefined && ownerIsDead(run.owner);
  return isLive(run.status) && !isAbandoned(run, Date.now(), dead);
}

/**
 * Cancels a run: its status first (its owner and fleet workers stop taking its chunks when they see
 * it), then its queue is obliterated; its objects not sent count as not attempted.
 */
export async function cancelRun(c: RunControl, runId: string, how: string): Promise<Cancelled | Refusal> {
  const run = await c.runs.get(runId);
  if (!run) return unknown(runId);
  if (isCompleted(run.status)) {
    return { ok: false, why: 'state', message: `run ${runId} already ${run.status}; nothing to cancel` };
  }
  await c.runs.stop(runId, 'cancelled', `cancelled with ${how}`);
  const dropped = await withRunQueue(c, runId, async (queue) => {
    const n = await parkedChunks(c.runs, queue, runId);
    await queue.obliterate({ force: true });
    await queue.removeRateLimitKey();
    return n;
  });
  await c.runs.dropBodies(runId);
  if (run.destId) await c.runs.leaveFleet(run.destId, runId);
  const final = await c.runs.get(runId);
  const summary = final ? summarize(final) : summarize({ ...run, status: 'cancelled' });
  return { ok: true, summary, dropped, wasLive: isLive(run.status) && !isAbandoned(run) };
}

/**
 * Holds a live run's chunks in its queue: requests in flight finish and are counted, nothing new is
 * sent, and the run stays live (its owner keeps its lease) until resumed or cancelled.
 */
export async function pauseRun(c: RunControl, runId: string): Promise<{ ok: true } | Refusal> {
  const run = await c.runs.get(runId);
  if (!run) return unknown(runId);
  if (!active(run)) {
    return { ok: false, why: 'state', message: `run ${runId} is ${summarize(run).status}: nothing to pause` };
  }
  await withRunQueue(c, runId, (q) => q.pause());
  return { ok: true };
}

/**
 * Sends a paused live run's chunks again. A stopped run (interrupted, halted, failed) is not resumed
 * here: its input must be read again (`run FILE --resume RUN`), and un-pausing its queue would send
 * chunks for a run recorded as stopped.
 */
export async function resumeRun(c: RunControl, runId: string): Promise<{ ok: true } | Refusal> {
  const run = await c.runs.get(runId);
  if (!run) return unknown(runId);
  if (!active(run)) {
    const status = summarize(run).status;
    const hint =
      isCompleted(status) || status === 'cancelled'
        ? ''
        : `; continue it with: braze-import run FILE --resume ${runId}`;
    return { ok: false, why: 'state', message: `run ${runId} is ${status}: it is not paused here${hint}` };
  }
  await withRunQueue(c, runId, (q) => q.resume());
  return { ok: true };
}

/** Whether a run's sending is paused: a live run whose queue is paused (by pauseRun). */
export async function isPaused(c: RunControl, run: RunRecord): Promise<boolean> {
  if (!active(run)) return false;
  return withRunQueue(c, run.runId, (q) => q.isPaused());
}
