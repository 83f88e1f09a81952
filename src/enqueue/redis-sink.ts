import type { Queue } from 'bullmq';
import type { OutgoingJobData, TrackGroupData, TrackQueueData } from '../../schemas/track.js';
import { backlogJobs, groupJobId, type RetryPolicy, trackJobId, trackJobOptions } from '../infra/queues.js';
import type { RunStore } from '../runs/store.js';
import type { ProducerSink } from './producer.js';

/** Redis keeps ~1.06x a job's JSON plus ~1.2 KB per job (see shared/bullmq-notes.md §5.3). */
const JOB_OVERHEAD_BYTES = 1200;
const REDIS_FACTOR = 1.06;

export interface RedisSinkOptions {
  queue: Queue<TrackQueueData>;
  runs: RunStore;
  runId: string;
  maxBacklogBytes: number;
  retentionMs: number;
  retry: RetryPolicy;
  pollMs?: number;
  /** Checked while waiting for room, so a shutdown is not stuck behind a full backlog. */
  stopped?: () => boolean;
  /**
   * Chunks per job (the run's jobGroup; default 1): the chunks of a group are those whose index / size
   * rounds down alike, and the producer hands them over in one call (produce's groupSize).
   */
  groupSize?: number;
}

/**
 * Enqueues chunk jobs with deterministic ids and holds the producer while the queue's unfinished
 * jobs would take more than maxBacklogBytes of Redis: a 10M-row file never fills Redis.
 */
export function createRedisSink(
  o: RedisSinkOptions,
): ProducerSink & { waitedMs(): number; skipped(): number } {
  const jobOpts = trackJobOptions(o.retentionMs, o.retry);
  let jobs = 0;
  let bytes = 0;
  let waited = 0;
  let skipped = 0;
  let batches = 0;
  /** The backlog as last counted in Redis plus the jobs added since: it can only have shrunk since. */
  let knownJobs = 0;
  let checkedAt = 0;
  const perJob = () => (jobs === 0 ? 32 * 1024 : (bytes / jobs) * REDIS_FACTOR + JOB_OVERHEAD_BYTES);
  return {
    async room(incoming) {
      // Counting the backlog is a round trip behind the workers' traffic (~10 ms on a busy machine):
      // skip it while even the worst case fits. Recount at least every second, since other
      // producers and the workers' continuations add jobs too.
      const now = Date.now();
      if (knownJobs * perJob() + incoming <= o.maxBacklogBytes / 2 && now - checkedAt < 1000) return;
      for (;;) {
        knownJobs = await retrying(() => backlogJobs(o.queue));
        checkedAt = Date.now();
        const backlog = knownJobs * perJob();
        if (backlog + incoming <= o.maxBacklogBytes || backlog === 0 || o.stopped?.()) break;
        await new Promise((r) => setTimeout(r, o.pollMs ?? 50));
      }
      waited += Date.now() - now;
    },
    async enqueue(list, size) {
      bytes += size;
      // Claimed first (counted open before they exist); chunks a resumed run already settled are skipped.
      const ids = list.map((c) => trackJobId(c.data));
      const wanted = await o.runs.claim(o.runId, ids);
      const add = toJobs(
        list.flatMap((c, i) => (wanted[i] ? [c.data] : [])),
        o.runId,
        o.groupSize ?? 1,
        jobOpts,
      );
      // Bodies beside the jobs, before the jobs exist; both idempotent by job id, so a pipeline cut
      // off by a Redis restart is simply sent again.
      const bodies = list.flatMap((c, i) => (wanted[i] ? [{ jobId: ids[i]!, body: c.body }] : []));
      if (add.length > 0) {
        // Issued in this order on one connection: the bodies are in Redis before the jobs.
        await Promise.all([
          retrying(() => o.runs.storeBodies(o.runId, bodies)),
          retrying(() => o.queue.addBulk(add)),
        ]);
      }
      jobs += add.length;
      knownJobs += add.length;
      skipped += list.length - wanted.filter(Boolean).length;
    },
    async batch(deltas, letters) {
      const seq = batches++;
      const rejections = letters.map((l) => ({ line: l.line, text: JSON.stringify(l) }));
      await o.runs.producerBatch(o.runId, seq, deltas, rejections);
    },
    skipped: () => skipped,
    waitedMs: () => waited,
  };
}

type JobOptions = ReturnType<typeof trackJobOptions>;

/**
 * The jobs for these chunks: one each, or (size > 1) one per group, the chunks of one group in one
 * job whatever the call (produce hands a group over whole), with an id a resume rebuilds alike.
 */
function toJobs(chunks: OutgoingJobData[], runId: string, size: number, opts: JobOptions) {
  if (size <= 1) {
    return chunks.map((data) => ({
      name: 'track',
      data: stored(data),
      opts: { ...opts, jobId: trackJobId(data) },
    }));
  }
  const groups = new Map<string, OutgoingJobData[]>();
  for (const c of chunks) {
    const id = groupJobId(runId, size, c.chunk);
    const list = groups.get(id);
    if (list) list.push(c);
    else groups.set(id, [c]);
  }
  return [...groups].map(([jobId, list]) => ({
    name: 'track',
    data: stored({ v: 3, runId, chunks: list }),
    opts: { ...opts, jobId },
  }));
}

/**
 * A job's data as BullMQ stores it: JSON.stringify writes packed lines as the ChunkLines they stand
 * for (src/chunk/packed-lines.ts), so in Redis, and to every worker, it is the TrackQueueData it is typed as.
 */
function stored(data: OutgoingJobData | (Omit<TrackGroupData, 'chunks'> & { chunks: OutgoingJobData[] })) {
  return data as TrackQueueData;
}

/**
 * Runs an idempotent Redis operation again when a reconnect aborted it (ioredis cannot tell whether a
 * half-answered pipeline ran); other errors, and the tenth failure, go to the caller.
 */
export async function retrying<T>(op: () => Promise<T>, attempts = 10): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await op();
    } catch (err) {
      const e = err as Error;
      const transient = e.name === 'AbortError' || /connection|ECONN|closed|LOADING/i.test(e.message);
      if (!transient || i >= attempts) throw err;
      await new Promise((r) => setTimeout(r, Math.min(100 * 2 ** i, 3000)));
    }
  }
}
