import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { chunksOf, type TrackJobData, type TrackQueueData } from '../../schemas/track.js';
import type { Logger } from './logger.js';
import { checkEvictionPolicy, closeRedis, connectRedis, createRedis, type RedisRole } from './redis.js';
import type { Resources } from './resources.js';

/**
 * Each run has a queue of its own (`track.<runId>`), so that nothing can send one run's chunks but
 * the processes serving that run: its own `run` process, or the workers of its destination for a
 * fleet run. Pausing, resuming, cancelling and cleaning up a run are operations on its queue alone.
 * The rate limit is shared through the send gate, not the queue.
 */
export function trackQueueName(runId: string): string {
  return `track.${runId}`;
}

export const DEFAULT_ATTEMPTS = 8;

export function trackJobId(data: Pick<TrackJobData, 'runId' | 'chunk' | 'part'>): string {
  // BullMQ job ids may not contain ':' nor be all digits; run ids are validated to keep that true.
  return `${data.runId}-${data.chunk}${data.part}`;
}

/**
 * Chunks per queued job for new runs (TrackGroupData): BullMQ's add, move and finish cost three Lua
 * calls and their round trips per job, about 15% of a run's CPU (`run` and Redis) when each job held
 * one chunk.
 * A run keeps the size it began with (its record's jobGroup), so a resume rebuilds the same groups.
 */
export const JOB_GROUP = 8;

/** The job of a group: `<runId>-g<size>-<n>`, n = chunk index / size (rounded down). */
export function groupJobId(runId: string, size: number, chunk: number): string {
  return `${runId}-g${size}-${Math.floor(chunk / size)}`;
}

export interface RetryPolicy {
  attempts: number;
  baseMs: number;
}

export function trackJobOptions(
  retentionMs: number,
  retry: RetryPolicy = { attempts: DEFAULT_ATTEMPTS, baseMs: 1000 },
) {
  return {
    attempts: retry.attempts,
    backoff: { type: 'exponential', delay: retry.baseMs, jitter: 0.5 },
    removeOnComplete: true,
    removeOnFail: { age: Math.ceil(retentionMs / 1000) },
    stackTraceLimit: 0,
  };
}

/**
 * `onError` hears connection trouble (a Redis restart); without a listener BullMQ prints raw stack
 * traces. Commands that fail still reject, so nothing is lost by only logging here.
 */
export function createTrackQueue(
  connection: Redis,
  prefix: string,
  runId: string,
  onError: (err: Error) => void = () => {},
): Queue<TrackQueueData> {
  const queue = new Queue<TrackQueueData>(trackQueueName(runId), {
    connection,
    prefix,
    // Job events are for dashboards; a run's queue is short-lived and its ledger is the record.
    streams: { events: { maxLen: 1000 } },
  });
  queue.on('error', onError);
  return queue;
}

/** Jobs not yet finished: what the backlog bound counts. */
export async function backlogJobs(queue: Queue<TrackQueueData>): Promise<number> {
  const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  return (c['waiting'] ?? 0) + (c['active'] ?? 0) + (c['delayed'] ?? 0) + (c['prioritized'] ?? 0);
}

/**
 * The ids of the chunks in a run's jobs not completed (waiting, active, delayed, and failed: a halt
 * fails the jobs it stops, and a resume queues them again): what a stopped run has parked, once
 * those with a recorded outcome are left out (a group may hold some; a job given up after its
 * attempts has dead-lettered its chunk).
 */
export async function queuedChunkIds(queue: Queue<TrackQueueData>): Promise<string[]> {
  const ids: string[] = [];
  const page = 500;
  for (const state of ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const) {
    for (let start = 0; ; start += page) {
      const jobs = await queue.getJobs([state], start, start + page - 1, true);
      for (const job of jobs) {
        if (!job?.data) continue;
        for (const c of chunksOf(job.data)) ids.push(trackJobId(c));
      }
      if (jobs.length < page) break;
    }
  }
  return ids;
}

/**
 * The first connection of a command (fails with one line if Redis is unreachable), checked for
 * eviction; it closes with `res`.
 */
export async function openRedis(
  res: Resources,
  o: { url: string; role: RedisRole; name: string; log: Logger },
): Promise<Redis> {
  const redis = await connectRedis(createRedis(o.url, o.role, o.name), o.url);
  res.defer(`${o.name} redis`, () => closeRedis(redis));
  await checkEvictionPolicy(redis, o.log);
  return redis;
}

/**
 * Makes a dead process's chunks of this run's queue available at once: active jobs whose owner is
 * gone would otherwise wait for their lock to lapse and two stalled checks (up to a minute). Only for
 * a run nobody else owns (its lease lapsed or it was stopped); the next worker's first stalled check
 * moves them back to wait.
 */
export async function releaseActive(redis: Redis, prefix: string, runId: string): Promise<number> {
  const base = `${prefix}:${trackQueueName(runId)}`;
  const active = await redis.lrange(`${base}:active`, 0, -1);
  if (active.length === 0) return 0;
  const m = redis.multi();
  for (const id of active) m.del(`${base}:${id}:lock`);
  m.sadd(`${base}:stalled`, ...active);
  m.del(`${base}:stalled-check`);
  await m.exec();
  return active.length;
}
