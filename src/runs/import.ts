import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RawRow, Rejection, UserRecord } from '../../schemas/record.js';
import type { TrackJobData } from '../../schemas/track.js';
import type { Config } from '../config.js';
import type { ChunkerLike } from '../enqueue/producer.js';
import { produce } from '../enqueue/producer.js';
import { createRedisSink } from '../enqueue/redis-sink.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../infra/logger.js';
import { createTrackQueue } from '../infra/queues.js';
import { checkEvictionPolicy, connectRedis, createRedis } from '../infra/redis.js';
import { createResources } from '../infra/resources.js';
import { type Sender, type SenderOptions, startSender } from '../send/sender.js';
import { newRunId, RUN_ID_PATTERN } from './ids.js';
import { createRunStore, type RunRecord, type RunStore } from './store.js';
import { type Summary, summarize } from './summary.js';
import { waitForRun } from './wait.js';

/** The input side of a run: where rows come from and how they become records and chunks. */
export interface ImportInput {
  source: string;
  rows: AsyncIterable<RawRow>;
  validate: (row: RawRow) => UserRecord | Rejection;
  chunker: ChunkerLike;
  chunkRejects?: Rejection[];
  estimateDataPoints?: (r: UserRecord) => number;
  header?: () => readonly string[] | undefined;
}

export interface ImportOptions {
  config: Config;
  log: Logger;
  redisUrl: string;
  braze: { endpoint: string; apiKey: string };
  runId?: string;
  /** Only enqueue: a fleet of `braze-import worker` processes sends. */
  enqueueOnly?: boolean;
  concurrency: number;
  /** Turns true on the first SIGINT/SIGTERM. */
  stopped?: () => boolean;
  onProgress?: (run: RunRecord) => void;
  /** How to start the sending side; in this thread by default (`run` puts it on a worker thread). */
  startSender?: (o: SenderOptions) => Promise<Sender>;
  /** Runs before the connections close (e.g. export dead letters from a private Redis). */
  beforeClose?: (ctx: { runs: RunStore; runId: string }) => Promise<void>;
}

/** read -> validate -> chunk -> enqueue, and (unless enqueue-only) send in this process until done. */
export async function runImport(input: ImportInput, o: ImportOptions): Promise<Summary> {
  const { config, log } = o;
  const runId = o.runId ?? newRunId();
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new UsageError(
      `--run-id: "${runId}" must be 1-64 letters, digits, '_', '.', '-' and contain a letter`,
    );
  }
  const res = createResources();
  try {
    const producerRedis = await connectRedis(
      createRedis(o.redisUrl, 'producer', 'braze-import:producer'),
      o.redisUrl,
    );
    res.defer('producer redis', () => quit(producerRedis));
    await checkEvictionPolicy(producerRedis, log);
    const queue = createTrackQueue(producerRedis, config.prefix);
    res.defer('queue', () => queue.close());
    await resumeIfPaused(queue, log);
    const runs = createRunStore(producerRedis, config.prefix, config.retentionMs);
    if (!(await runs.create(runId, input.source)))
      throw new UsageError(`run ${runId} already exists; pick another --run-id`);
    log.info({ runId, source: input.source }, 'run started');

    let halted = false;
    if (!o.enqueueOnly) {
      const start = o.startSender ?? startSender;
      const sender = await start({
        config,
        log,
        redisUrl: o.redisUrl,
        braze: o.braze,
        concurrency: o.concurrency,
        onHalt: () => {
          halted = true;
        },
      });
      res.defer('sender', () => sender.close());
    }

    const stopped = () => halted || (o.stopped?.() ?? false);
    const sink = createRedisSink({
      queue,
      runs,
      runId,
      maxBacklogBytes: config.maxBacklogBytes,
      retentionMs: config.retentionMs,
      retry: config.retry,
      stopped,
    });
    const produced = await produce({ runId, ...input, sink, stopped });
    if (produced.stoppedEarly && !halted)
      await runs.setStatus(runId, 'interrupted', 'stopped by signal while reading');
    else await runs.markProducerDone(runId);
    log.info({ runId, rows: produced.rowsRead, chunks: produced.chunks }, 'input read');

    const final = o.enqueueOnly
      ? await runs.get(runId)
      : await waitForRun(runs, runId, { stop: () => o.stopped?.() ?? false, onTick: o.onProgress });
    if (!final) throw new Error(`run ${runId} disappeared from Redis`);
    await o.beforeClose?.({ runs, runId });
    return summarize(final);
  } finally {
    const errors = await res.closeAll();
    for (const e of errors) log.warn(e.message);
  }
}

async function quit(redis: Redis): Promise<void> {
  await redis.quit().catch(() => redis.disconnect());
}

/** A halt (401/403) pauses the queue; a new run with a fixed key must not sit behind that pause. */
async function resumeIfPaused(queue: Queue<TrackJobData>, log: Logger): Promise<void> {
  if (await queue.isPaused()) {
    log.warn('the queue was paused (an earlier run halted); resuming it');
    await queue.resume();
  }
}
