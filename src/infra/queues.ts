import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { TrackJobData } from '../../schemas/track.js';
import type { Logger } from './logger.js';
import { checkEvictionPolicy, closeRedis, connectRedis, createRedis, type RedisRole } from './redis.js';
import type { Resources } from './resources.js';

/** One BullMQ queue per Braze rate bucket; /users/track is the only bucket we send to so far. */
export const TRACK_QUEUE = 'users-track';

export const DEFAULT_ATTEMPTS = 8;

export function trackJobId(data: Pick<TrackJobData, 'runId' | 'chunk' | 'part'>): string {
  // BullMQ job ids may not contain ':' nor be all digits; run ids are validated to keep that true.
  return `${data.runId}-${data.chunk}${data.part}`;
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
    stackTraceLimit: 3,
  };
}

/**
 * `onError` hears connection trouble (a Redis restart); without a listener BullMQ prints raw stack
 * traces. Commands that fail still reject, so nothing is lost by only logging here.
 */
export function createTrackQueue(
  connection: Redis,
  prefix: string,
  onError: (err: Error) => void = () => {},
): Queue<TrackJobData> {
  const queue = new Queue<TrackJobData>(TRACK_QUEUE, { connection, prefix });
  queue.on('error', onError);
  return queue;
}

/** Jobs not yet finished: what the backlog bound counts. */
export async function backlogJobs(queue: Queue<TrackJobData>): Promise<number> {
  const c = await queue.getJobCounts('waiting', 'active', 'delayed', 'prioritized');
  return (c['waiting'] ?? 0) + (c['active'] ?? 0) + (c['delayed'] ?? 0) + (c['prioritized'] ?? 0);
}

/**
 * The first connection of a command (fails with one line if Redis is unreachable), checked for
 * eviction, with the track queue on it; both close with `res`, queue first.
 */
export async function openTrackQueue(
  res: Resources,
  o: { url: string; role: RedisRole; name: string; prefix: string; log: Logger },
): Promise<{ redis: Redis; queue: Queue<TrackJobData> }> {
  const redis = await connectRedis(createRedis(o.url, o.role, o.name), o.url);
  res.defer(`${o.name} redis`, () => closeRedis(redis));
  await checkEvictionPolicy(redis, o.log);
  const queue = createTrackQueue(redis, o.prefix, (err) => o.log.debug({ err: err.message }, 'queue'));
  res.defer(`${o.name} queue`, () => queue.close());
  return { redis, queue };
}
