import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import type { RateLimit } from '../../schemas/config.js';
import type { Mapping } from '../../schemas/mapping.js';
import type { RawRow, Rejection, RowBatches, UserRecord } from '../../schemas/record.js';
import type { TrackQueueData } from '../../schemas/track.js';
import type { Config } from '../config.js';
import type { ChunkerLike } from '../enqueue/producer.js';
import { produce } from '../enqueue/producer.js';
import { createRedisSink } from '../enqueue/redis-sink.js';
import { describeError, UsageError } from '../errors.js';
import type { Logger } from '../infra/logger.js';
import { createTrackQueue, openRedis } from '../infra/queues.js';
import { createResources } from '../infra/resources.js';
import { type Destination, destinationOf } from '../runs/destination.js';
import { ownerId } from '../runs/owner.js';
import {
  createRunStore,
  FINAL_STATUSES,
  isCompleted,
  isLive,
  type RunRecord,
  type RunStart,
  type RunStore,
} from '../runs/store.js';
import { type Summary, summarize } from '../runs/summary.js';
import { waitForRun } from '../runs/wait.js';
import { durationEstimate } from '../send/limiter.js';
import type { Sender, SenderOptions } from '../send/sender.js';
import { beginRun } from './begin.js';

/** The input side of a run: where rows come from and how they become records and chunks. */
export interface ImportInput {
  source: string;
  /** The rows, a batch at a time. */
  rows: RowBatches;
  validate: (row: RawRow) => UserRecord | Rejection;
  chunker: ChunkerLike;
  chunkRejects?: Rejection[];
  header?: () => readonly string[] | undefined;
  /** Computes what identifies the input (see fingerprint.ts); undefined for stdin. */
  fingerprint?: () => Promise<string>;
  /** The id column and mapping the input was read with: recorded, so a replay reads rows alike. */
  idColumn?: string;
  mapping?: Mapping;
  /** Records to send after the rows (a mirror sync's unsets). */
  tail?: () => AsyncIterable<UserRecord>;
  /** Size of the input in bytes (undefined for stdin) and bytes read so far: progress. */
  size?: number;
  bytesRead?: () => number;
}

export interface ImportOptions {
  config: Config;
  log: Logger;
  redisUrl: string;
  braze: { endpoint: string; apiKey: string };
  runId?: string;
  /** Continue this run: chunks it already settled are skipped, the rest are (re)enqueued. */
  resume?: string;
  /** With resume: the run's key was rotated; send the rest with this one (same endpoint). */
  newKey?: boolean;
  /** Import even if the same input was imported before. */
  force?: boolean;
  /** Only enqueue: a fleet of `braze-import worker` processes of the same destination sends. */
  enqueueOnly?: boolean;
  /** This run replays the dead letters of that run. */
  replayOf?: string;
  /** Recorded with a new run: what started it, and a sync's change record (src/sync). */
  start?: Pick<RunStart, 'kind' | 'syncName' | 'syncBase' | 'syncMark' | 'syncBuckets' | 'share' | 'api'>;
  /** Called once the run is recorded (new or resumed), before anything is read. */
  onBegin?: (runId: string) => Promise<unknown> | undefined;
  /** Requests in flight; undefined: sized to the latency (src/send/concurrency.ts). */
  concurrency?: number | undefined;
  /** Turns true on the first SIGINT/SIGTERM. */
  stopped?: () => boolean;
  onProgress?: (run: RunRecord) => void;
  /** Called with what to do on a forced stop (second signal, deadline): record what can be, fast. */
  onForce?: (force: () => Promise<void>) => void;
  /** How to start the sending side; in this thread by default (`run` puts it on a worker thread). */
  startSender?: (o: SenderOptions) => Promise<Sender>;
  /** Runs before the connections close (e.g. export dead letters from a private Redis). */
  beforeClose?: (ctx: { runs: RunStore; runId: string }) => Promise<void>;
}

/** How long an owner's word lasts; it renews every LEASE_RENEW_MS. */
export const LEASE_MS = 10_000;
const LEASE_RENEW_MS = 500;

/** read -> validate -> chunk -> enqueue, and (unless enqueue-only) send in this process until done. */
export async function runImport(input: ImportInput, o: ImportOptions): Promise<Summary> {
  const { config, log } = o;
  const res = createResources();
  // Hashed while Redis connects; awaited when the run begins.
  const fingerprint = input.fingerprint?.();
  fingerprint?.catch(() => undefined); // its error surfaces where it is awaited
  try {
    const redis = await openRedis(res, {
      url: o.redisUrl,
      role: 'producer',
      name: 'braze-import:producer',
      log,
    });
    const runs = createRunStore(redis, config.prefix, config.retentionMs);
    const dest = destinationOf(o.braze.endpoint, o.braze.apiKey);
    const owner = ownerId();
    const begun = await beginRun(runs, redis, {
      config,
      dest,
      owner,
      leaseUntil: Date.now() + LEASE_MS,
      source: input.source,
      fingerprint: await fingerprint,
      size: input.size,
      idColumn: input.idColumn,
      mapping: input.mapping,
      o,
    });
    if ('already' in begun) return { ...summarize(begun.already), alreadyImported: true };
    const { runId, jobGroup } = begun;
    await o.onBegin?.(runId);
    const queue = createTrackQueue(redis, config.prefix, runId, (err) =>
      log.debug({ err: err.message }, 'queue'),
    );
    res.defer('queue', () => queue.close());
    log.info({ runId, source: input.source, resumed: Boolean(o.resume), mode: begun.mode }, 'run started');
    return await importRun(input, o, { runs, redis, queue, runId, dest, owner, res, jobGroup });
  } finally {
    const errors = await res.closeAll();
    for (const e of errors) log.warn(e.message);
  }
}

interface RunContext {
  runs: RunStore;
  redis: Redis;
  queue: Queue<TrackQueueData>;
  runId: string;
  dest: Destination;
  owner: string;
  res: ReturnType<typeof createResources>;
  /** Chunks per queued job (the run's own). */
  jobGroup: number;
}

/** A run that has begun: its owner's heartbeat, its sender, the producer, and how it ends. */
async function importRun(input: ImportInput, o: ImportOptions, c: RunContext): Promise<Summary> {
  const { config, log } = o;
  const { runs, queue, runId, res } = c;
  let halted = false;
  let senderFailure: string | undefined;
  /** The run ended elsewhere while this process worked on it (cancelled, or halted by a fleet worker). */
  let endedElsewhere: string | undefined;
  const heartbeat = setInterval(() => {
    runs.renewLease(runId, c.owner, Date.now() + LEASE_MS).then(
      (status) => {
        if (status && !isLive(status)) endedElsewhere ??= status;
      },
      () => undefined, // a Redis restart: the next beat tries again
    );
  }, LEASE_RENEW_MS);
  res.defer('heartbeat', () => clearInterval(heartbeat));
  const limits = o.start?.api === 'bulk' ? config.braze.bulkRateLimits : config.braze.trackRateLimits;
  const estimate = setInterval(() => {
    void estimateDuration(runs, runId, limits, config.braze.rateSlackMs, log).then(
      (done) => done && clearInterval(estimate),
    );
  }, 1000);
  res.defer('estimate', () => clearInterval(estimate));
  o.onForce?.(async () => {
    clearInterval(heartbeat);
    await runs.stop(
      runId,
      'interrupted',
      `forced stop: requests in flight may have reached Braze without being recorded; continue with --resume ${runId}`,
    );
  });

  let sender: Sender | undefined;
  if (!o.enqueueOnly) {
    // The in-process sender (undici and the send modules) is loaded only when it is the one used.
    const start =
      o.startSender ?? (async (so: SenderOptions) => (await import('../send/sender.js')).startSender(so));
    try {
      sender = await start({
        config,
        log,
        redisUrl: o.redisUrl,
        braze: o.braze,
        concurrency: o.concurrency,
        scope: { runId },
        onHalt: () => {
          halted = true;
        },
        onFailure: (message) => {
          senderFailure ??= message;
        },
      });
      res.defer('sender', () => sender?.close());
    } catch (err) {
      senderFailure = `sending could not start: ${describeError(err)}`;
    }
  }

  const interrupted = () => (o.stopped?.() ?? false) || senderFailure !== undefined;
  const stopped = () => halted || interrupted() || endedElsewhere !== undefined;
  const sink = createRedisSink({
    queue,
    runs,
    runId,
    maxBacklogBytes: config.maxBacklogBytes,
    retentionMs: config.retentionMs,
    retry: config.retry,
    stopped,
    groupSize: c.jobGroup,
  });
  // Progress is best effort: a read that fails while Redis restarts just skips one tick.
  const tick = () =>
    runs.get(runId).then(
      (r) => r && o.onProgress?.(r),
      () => {},
    );
  const ticker = o.onProgress ? setInterval(tick, 250) : undefined;
  res.defer('progress', () => clearInterval(ticker));

  let produced: Awaited<ReturnType<typeof produce>>;
  try {
    produced = await produce({ runId, ...input, sink, stopped, groupSize: c.jobGroup });
  } catch (err) {
    if (!(err instanceof UsageError)) throw err;
    return await inputFailed(runs, runId, err, o, interrupted);
  }
  // A resume reads the whole input again, so this replaces what an earlier reading found.
  await runs.set(runId, { idCollisions: JSON.stringify(produced.idCollisions) });
  if (!produced.stoppedEarly) await runs.markProducerDone(runId);
  log.info(
    {
      runId,
      rows: produced.rowsRead,
      chunks: produced.chunks,
      skipped: sink.skipped(),
      waitedForRedisMs: Math.round(produced.flushWaitMs),
      waitedForBacklogMs: sink.waitedMs(),
    },
    'input read',
  );

  let final =
    o.enqueueOnly && !produced.stoppedEarly
      ? await runs.get(runId)
      : await waitForRun(runs, runId, { stop: () => interrupted() || produced.stoppedEarly });
  clearInterval(ticker);
  if (final && isLive(final.status) && (interrupted() || produced.stoppedEarly)) {
    // Honest accounting: let requests in flight finish and count them, then record what is left.
    await sender?.close();
    const why = produced.stoppedEarly ? 'stopped by a signal while reading the input' : 'stopped by a signal';
    const reason = senderFailure
      ? `${senderFailure}; continue with --resume ${runId}`
      : `${why}; continue with --resume ${runId}`;
    await runs.stop(runId, senderFailure ? 'failed' : 'interrupted', reason);
    final = await runs.get(runId);
  }
  if (!final) throw new Error(`run ${runId} disappeared from Redis`);
  // This process's requests are over before its queue is parked or removed.
  if (!isLive(final.status)) await sender?.close();
  await park(c, final);
  await o.beforeClose?.({ runs, runId });
  return summarize(final);
}

/**
 * Once a few percent of the input is read: how many requests the whole will take and how long that
 * is at the contract's limits, said once (a warning when an hourly budget sets the pace). True when
 * said, or when it cannot be (stdin: no size).
 */
async function estimateDuration(
  runs: RunStore,
  runId: string,
  limits: readonly RateLimit[],
  slackMs: number,
  log: Logger,
): Promise<boolean> {
  const run = await runs.get(runId).catch(() => undefined);
  if (!run?.inputBytes) return true;
  const share = run.bytesRead / run.inputBytes;
  if (share < 0.02 || run.chunks === 0) return run.producerDone;
  const requests = Math.round(run.chunks / Math.min(1, share));
  const note = durationEstimate(requests, limits, slackMs);
  if (note.slow) log.warn({ runId, requests }, `expected: ${note.text}`);
  else log.info({ runId, requests }, `expected: ${note.text}`);
  return true;
}

/**
 * Where the run's queue is left: removed when the run is done with it (completed, cancelled); paused
 * when the run stopped with chunks still in it, so that nothing sends them until someone decides
 * (`--resume` or `cancel`).
 */
async function park(c: RunContext, run: RunRecord): Promise<void> {
  if (isLive(run.status)) return; // enqueue-only: the fleet sends it
  if (run.mode === 'fleet' && !FINAL_STATUSES.has(run.status)) return;
  if (isCompleted(run.status) || run.status === 'cancelled') {
    // Requests of a cancelled run still in flight elsewhere keep their locks: then leave the keys.
    await c.queue.obliterate({ force: run.status === 'cancelled' }).catch(() => undefined);
    await c.queue.removeRateLimitKey().catch(() => undefined);
    await c.runs.dropBodies(run.runId);
    if (run.destId) await c.runs.leaveFleet(run.destId, run.runId);
    return;
  }
  await c.queue.pause();
  if (run.destId) await c.runs.leaveFleet(run.destId, run.runId);
}

/**
 * The input broke mid-way: the run is failed (resuming cannot help), what was already queued is still
 * sent and counted, and the summary says so; the caller reports the error itself.
 */
async function inputFailed(
  runs: RunStore,
  runId: string,
  err: UsageError,
  o: ImportOptions,
  interrupted: () => boolean,
): Promise<Summary> {
  const read = (await runs.get(runId))?.rowsRead ?? 0;
  const reason = `input unreadable after ${read} rows (${err.lines.join('; ')}); rows before it were sent`;
  await runs.stop(runId, 'failed', reason);
  const final = o.enqueueOnly
    ? await runs.get(runId)
    : await waitForRun(runs, runId, { stop: interrupted, done: (r) => r.jobsOpen <= 0 });
  if (!final) throw err;
  await o.beforeClose?.({ runs, runId });
  return { ...summarize(final), inputError: err.lines.join('; ') };
}
