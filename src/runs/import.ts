import type { Queue } from 'bullmq';
import type { RawRow, Rejection, UserRecord } from '../../schemas/record.js';
import type { TrackJobData } from '../../schemas/track.js';
import type { Config } from '../config.js';
import type { ChunkerLike } from '../enqueue/producer.js';
import { produce } from '../enqueue/producer.js';
import { createRedisSink } from '../enqueue/redis-sink.js';
import { describeError, UsageError } from '../errors.js';
import type { Logger } from '../infra/logger.js';
import { openTrackQueue } from '../infra/queues.js';
import { createResources } from '../infra/resources.js';
import type { Sender, SenderOptions } from '../send/sender.js';
import { newRunId, RUN_ID_PATTERN } from './ids.js';
import { createRunStore, FINAL_STATUSES, isCompleted, type RunRecord, type RunStore } from './store.js';
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
  /** Computes what identifies the input (see fingerprint.ts); undefined for stdin. */
  fingerprint?: () => Promise<string>;
}

export interface ImportOptions {
  config: Config;
  log: Logger;
  redisUrl: string;
  braze: { endpoint: string; apiKey: string };
  runId?: string;
  /** Continue this run: chunks it already settled are skipped, the rest are (re)enqueued. */
  resume?: string;
  /** Import even if the same input was imported before. */
  force?: boolean;
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
  const res = createResources();
  let senderReady: Promise<void> = Promise.resolve();
  // Hashed while the sender starts and Redis connects; awaited when the run begins.
  const fingerprint = input.fingerprint?.();
  fingerprint?.catch(() => undefined); // its error surfaces where it is awaited
  try {
    let halted = false;
    let senderFailure: string | undefined;
    let sender: Sender | undefined;
    // The sender starts first (a thread loading its modules, ~0.4 s) and comes up while the run begins
    // and reading starts; a sender that cannot start stops reading like one that dies later, and the
    // run ends as failed and resumable. (With a shared Redis it may send other runs' chunks meanwhile,
    // as it would anyway.)
    if (!o.enqueueOnly) {
      // The in-process sender (undici and the send modules) is loaded only when it is the one used.
      const start =
        o.startSender ?? (async (so: SenderOptions) => (await import('../send/sender.js')).startSender(so));
      const onHalt = () => {
        halted = true;
      };
      const onFailure = (message: string) => {
        senderFailure ??= message;
      };
      senderReady = start({
        config,
        log,
        redisUrl: o.redisUrl,
        braze: o.braze,
        concurrency: o.concurrency,
        onHalt,
        onFailure,
      }).then(
        (s) => {
          sender = s;
          res.defer('sender', () => s.close());
        },
        (err: unknown) => onFailure(`sending could not start: ${describeError(err)}`),
      );
    }
    const { redis: producerRedis, queue } = await openTrackQueue(res, {
      url: o.redisUrl,
      role: 'producer',
      name: 'braze-import:producer',
      prefix: config.prefix,
      log,
    });
    await resumeIfPaused(queue, log);
    const runs = createRunStore(producerRedis, config.prefix, config.retentionMs);
    const begun = await beginRun(runs, queue, { source: input.source, fingerprint: await fingerprint }, o);
    if ('already' in begun) return { ...summarize(begun.already), alreadyImported: true };
    const { runId } = begun;
    log.info({ runId, source: input.source, resumed: Boolean(o.resume) }, 'run started');

    const interrupted = () => (o.stopped?.() ?? false) || senderFailure !== undefined;
    const stopped = () => halted || interrupted();
    const sink = createRedisSink({
      queue,
      runs,
      runId,
      maxBacklogBytes: config.maxBacklogBytes,
      retentionMs: config.retentionMs,
      retry: config.retry,
      stopped,
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
      produced = await produce({ runId, ...input, sink, stopped });
    } catch (err) {
      if (!(err instanceof UsageError)) throw err;
      await senderReady;
      return await inputFailed(runs, runId, err, o, interrupted);
    }
    if (!produced.stoppedEarly) await runs.markProducerDone(runId);
    await senderReady;
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

    let final = o.enqueueOnly ? await runs.get(runId) : await waitForRun(runs, runId, { stop: interrupted });
    clearInterval(ticker);
    if (final && !FINAL_STATUSES.has(final.status) && interrupted()) {
      // Honest accounting: let requests in flight finish and count them, then record what is left.
      await sender?.close();
      const why = produced.stoppedEarly
        ? 'stopped by a signal while reading the input'
        : 'stopped by a signal';
      if (senderFailure)
        await runs.setStatus(runId, 'failed', `${senderFailure}; continue with --resume ${runId}`);
      else await runs.setStatus(runId, 'interrupted', `${why}; continue with --resume ${runId}`);
      final = await runs.get(runId);
    }
    if (!final) throw new Error(`run ${runId} disappeared from Redis`);
    await o.beforeClose?.({ runs, runId });
    return summarize(final);
  } finally {
    // A sender still starting registers itself for closing when it is up: wait for that first.
    await senderReady;
    const errors = await res.closeAll();
    for (const e of errors) log.warn(e.message);
  }
}

/**
 * A new run, a resumed one, or none because this exact input was imported before. A resumed run
 * re-reads its input and re-enqueues what it has not settled; jobs a halt left failed go back too.
 */
async function beginRun(
  runs: RunStore,
  queue: Queue<TrackJobData>,
  { source, fingerprint }: { source: string; fingerprint: string | undefined },
  o: ImportOptions,
): Promise<{ runId: string } | { already: RunRecord }> {
  if (o.resume) {
    const run = await runs.get(o.resume);
    if (!run)
      throw new UsageError(
        `--resume: no run ${o.resume} in this Redis (runs are kept for the retention period)`,
      );
    if (run.fingerprint && fingerprint && run.fingerprint !== fingerprint) {
      throw new UsageError(
        `--resume: this input (or its options) differs from what run ${o.resume} imported`,
      );
    }
    const was = await runs.resume(o.resume);
    if (isCompleted(was)) {
      throw new UsageError(`--resume: run ${o.resume} already completed; nothing to resume`);
    }
    await retryUnsettledFailures(runs, queue, o.resume);
    return { runId: o.resume };
  }
  if (fingerprint && !o.force) {
    const earlier = await runs.findByFingerprint(fingerprint);
    const run = earlier ? await runs.get(earlier) : undefined;
    if (run && isCompleted(run.status)) return { already: run };
    if (run) {
      throw new UsageError(
        `this input is run ${run.runId} (${run.status}); continue it with --resume ${run.runId}, or start over with --force`,
      );
    }
  }
  const runId = o.runId ?? newRunId();
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new UsageError(
      `--run-id: "${runId}" must be 1-64 letters, digits, '_', '.', '-' and contain a letter`,
    );
  }
  const extra = fingerprint ? { fingerprint } : undefined;
  if (!(await runs.create(runId, source, extra))) {
    throw new UsageError(`run ${runId} already exists; pick another --run-id or use --resume ${runId}`);
  }
  if (fingerprint) await runs.rememberFingerprint(fingerprint, runId);
  return { runId };
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
  await runs.setStatus(runId, 'failed', reason);
  const final = o.enqueueOnly
    ? await runs.get(runId)
    : await waitForRun(runs, runId, { stop: interrupted, done: (r) => r.jobsOpen <= 0 });
  if (!final) throw err;
  await o.beforeClose?.({ runs, runId });
  return { ...summarize(final), inputError: err.lines.join('; ') };
}

/** Jobs of the run that failed without an outcome (a halt) are queued again; settled ones never are. */
async function retryUnsettledFailures(
  runs: RunStore,
  queue: Queue<TrackJobData>,
  runId: string,
): Promise<void> {
  // Collect first: retrying moves a job out of the failed set, which would shift the pages being read.
  const mine = [];
  for (let start = 0; ; start += 500) {
    const failed = await queue.getFailed(start, start + 499);
    mine.push(...failed.filter((job) => job.data.runId === runId));
    if (failed.length < 500) break;
  }
  for (const job of mine) if (!(await runs.isSettled(runId, job.id ?? ''))) await job.retry();
}

/** A halt (401/403) pauses the queue; a new run with a fixed key must not sit behind that pause. */
async function resumeIfPaused(queue: Queue<TrackJobData>, log: Logger): Promise<void> {
  if (await queue.isPaused()) {
    log.warn('the queue was paused (an earlier run halted); resuming it');
    await queue.resume();
  }
}
