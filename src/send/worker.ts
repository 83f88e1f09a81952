import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import { DelayedError, type Job, type Queue, RateLimitError, UnrecoverableError, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import type { LimitFunction } from 'p-limit';
import type { DeadLetter } from '../../schemas/dead-letter.js';
import {
  chunksOf,
  isGroup,
  sentChunk,
  type TrackGroupData,
  type TrackJobData,
  type TrackQueueData,
} from '../../schemas/track.js';
import { packChunkLines } from '../chunk/packed-lines.js';
import type { Logger } from '../infra/logger.js';
import { DEFAULT_ATTEMPTS, trackJobId, trackJobOptions } from '../infra/queues.js';
import { type Counts, isLive, type LaterWrite, type RunStore } from '../runs/store.js';
import { type RateGate, type TakeClass, timeSlot, waitForSlot } from './gate.js';
import type { LimiterSettings } from './limiter.js';
import { type ChunkProcessor, type ChunkResult, giveUp, type Settlement } from './processor.js';
import type { Taken, Taker } from './take.js';

export interface TrackWorkerDeps {
  /** The run whose queue this worker serves: nothing else's chunks can reach it. */
  runId: string;
  connection: Redis;
  queue: Queue<TrackQueueData>;
  prefix: string;
  concurrency: number;
  /** Requests in flight in this process, across every run it serves. */
  slots: LimitFunction;
  /** Hears each answer's latency and each push-back, to size the requests in flight (concurrency.ts). */
  pace?: { answered(ms: number): void; pushback(): void } | undefined;
  /** Paces requests under Braze's limit, across all workers. */
  gate: RateGate;
  /** How this run takes from the gate: a sync, a backfill keeping to its share (gate.ts). */
  cls?: TakeClass;
  /** The check before a request and the gate's take, in one call (take.ts). */
  take: Taker;
  /** Aborted when this worker starts closing: a chunk still waiting for its send time goes back to the queue unsent. */
  stopWaiting?: AbortSignal;
  /** BullMQ's limiter: loose, there so that a 429 pause reaches every worker of the run. */
  limiter: LimiterSettings;
  process: ChunkProcessor;
  runs: RunStore;
  log: Logger;
  retentionMs: number;
  /** BullMQ lock: a dead worker's chunks go back to the queue this long after it stopped renewing. */
  lockMs?: number;
  /**
   * Braze accepted a chunk (all or some of its objects): given its attributes objects and the users
   * whose attributes object it refused, before the settle (a sync's change record, src/sync).
   */
  accepted?: (attributes: Array<Record<string, unknown>>, refused: ReadonlySet<string>) => Promise<void>;
  /** Braze refused us for good (401/403/404): called once per chunk that met it; the run is halted. */
  onHalt?: (runId: string, message: string, status: number) => void;
}

/** The external_id of a dead letter that holds an attributes object (events are never superseded). */
function attributesLetterUser(d: DeadLetter): string[] {
  const v = d.record?.format === 'json' ? d.record.value : undefined;
  if (typeof v !== 'object' || v === null || !('attributes' in v)) return [];
  const id = (v as { external_id?: unknown }).external_id;
  return typeof id === 'string' ? [id] : [];
}

/** What an accepted attributes object wrote: each key, as an increment or anything else, at `line`. */
function writesOf(o: Record<string, unknown>, line: number): LaterWrite[] {
  const id = String(o['external_id']);
  const out: LaterWrite[] = [];
  for (const [key, value] of Object.entries(o)) {
    if (key === 'external_id' || key.startsWith('_') || key === 'push_token_import') continue;
    const inc =
      typeof value === 'object' && value !== null && Object.keys(value).length === 1 && 'inc' in value;
    out.push([id, key, inc ? 'inc' : 'set', line]);
  }
  return out;
}

/** What one attempt at one chunk came to; the queue adapter decides what follows. */
type ChunkEnd =
  | { kind: 'done'; accepted: number; failed: number }
  /** Its lane has not finished the chunks it waits for: not sent. */
  | { kind: 'blocked' }
  /** Braze said 429: not counted as an attempt; the run's queue and the gate are paused. */
  | { kind: 'rate-limited' }
  /** A transient failure: an attempt spent (maybeDelivered: no answer, so Braze may have it). */
  | { kind: 'retry'; message: string; maybeDelivered: boolean }
  | { kind: 'halt'; message: string };

/** A job's backoff (trackJobOptions): its base delay and jitter. */
function backoffOf(job: Job<TrackQueueData>): { baseMs: number; jitter: number } {
  const b = job.opts.backoff;
  return typeof b === 'object'
    ? { baseMs: b.delay ?? 1000, jitter: b.jitter ?? 0 }
    : { baseMs: b ?? 1000, jitter: 0 };
}

/**
 * The wait before a chunk's next attempt, as BullMQ's exponential backoff with jitter would have it:
 * base x 2^(attempts - 1), less up to `jitter` of it at random.
 */
function retryDelay(job: Job<TrackQueueData>): (attemptsMade: number) => number {
  const { baseMs, jitter } = backoffOf(job);
  return (n) => baseMs * 2 ** Math.max(0, n - 1) * (1 - jitter * Math.random());
}

/** Braze refused us for good: the job fails without retries and is not dead-lettered (the run halts). */
export class HaltError extends UnrecoverableError {}

/** A 429 loop must end somewhere: after this many starts of one job it is given up. */
const MAX_STARTS = 60;

/**
 * A chunk waiting for its lane is woken by the settle that lets it go; if that wake-up is lost (the
 * settling worker died), it looks again after this long.
 */
const BLOCKED_RECHECK_MS = 30_000;

/**
 * Runs `wait` (sleeps on the gate) under one signal for "closing or cancelled": when this worker is
 * closing, a chunk still waiting goes back to the queue unsent and unspent (RateLimitError). Listeners
 * are removed afterwards (AbortSignal.any on Node 20 keeps an entry per call on the long-lived
 * signal: a leak in a worker that runs for days).
 */
async function abortable<T>(
  deps: TrackWorkerDeps,
  signal: AbortSignal | undefined,
  wait: (s: AbortSignal) => Promise<T>,
): Promise<T> {
  const stop = deps.stopWaiting;
  if (stop?.aborted) throw new RateLimitError();
  // Aborted before this wait began (a group's halt, while this chunk queued for a slot): no event comes.
  if (signal?.aborted) throw signal.reason ?? new Error('aborted');
  const both = new AbortController();
  const abort = () => both.abort();
  stop?.addEventListener('abort', abort, { once: true });
  signal?.addEventListener('abort', abort, { once: true });
  try {
    return await wait(both.signal);
  } catch (err) {
    if (stop?.aborted) throw new RateLimitError();
    throw err;
  } finally {
    stop?.removeEventListener('abort', abort);
    signal?.removeEventListener('abort', abort);
  }
}

/**
 * The BullMQ edge of sending: maps the processor's decision onto BullMQ (settle, RateLimitError,
 * retry with backoff, UnrecoverableError) in this one place.
 */
export function createTrackWorker(deps: TrackWorkerDeps): Worker<TrackQueueData> {
  const { queue, runs, log } = deps;
  /**
   * Braze said wait (a 429) until then. Chunks of this process that already hold a send time inside
   * the pause take a new one after it instead of meeting the same 429 (BullMQ's pause only stops
   * new chunks from starting).
   */
  let heldUntil = 0;
  /** The group's slack as this process last said it: a change of a quarter or 20 ms is logged (it sets the pace). */
  let slackHeard = deps.gate.script.defaultSlackMs;
  /** The check and a send time (coming back while it is beyond the horizon), not before a pause ends. */
  const takeAndStart = (
    data: TrackJobData,
    jobId: string,
    waiter: string,
    signal?: AbortSignal,
  ): Promise<Taken> =>
    abortable(deps, signal, async (s) => {
      const hold = heldUntil - Date.now();
      if (hold > 0) await sleep(hold, undefined, { signal: s });
      for (let first = true; ; first = false) {
        // Redis hands the time out somewhere between asking and hearing back: wait from hearing back
        // (never early), but judge lateness from asking.
        const asked = performance.now();
        const taken = await deps.take(data.runId, jobId, data.lane, data.needs, deps.cls, waiter, first);
        if (taken.kind === 'later') {
          const horizon = deps.gate.script.horizonMs(taken.slackMs);
          await sleep(taken.time - taken.now - horizon, undefined, { signal: s });
          continue;
        }
        if (taken.kind === 'go') timeSlot(taken.slot, asked, performance.now());
        return taken;
      }
    });
  /** Jobs of the run whose lane this settle moved far enough: back to the queue from their wait. */
  const wake = async (ids: string[]) => {
    for (const id of ids) {
      // Not delayed yet (its worker is still moving it there) or gone: that worker checks again itself.
      await queue
        .getJob(id)
        .then((j) => j?.promote())
        .catch(() => undefined);
    }
  };
  /**
   * Before the settle, while the chunk's lane still waits for it: the users whose attributes object is
   * dead-lettered, and (when the run has any) what this chunk wrote for such users, so that a replay
   * of their letters leaves out what newer rows wrote (src/runs/scripts/later.ts).
   */
  const noteForReplays = async (
    data: TrackJobData,
    sent: ReturnType<typeof sentChunk>,
    s: Settlement,
    deadUsers: boolean,
  ) => {
    const dead = s.deadLetters.flatMap((d) => (d.stage !== 'rejected' ? attributesLetterUser(d) : []));
    if (dead.length > 0) await runs.noteDeadUsers(data.runId, dead);
    if (!deadUsers || !s.deltas.objectsAccepted) return;
    const all = sent.body().attributes ?? [];
    const objects = all
      .map((o, i) => ({ o, line: Math.max(0, ...(data.lines.attributes[i] ?? [])) }))
      .filter(({ o }) => !dead.includes(String(o['external_id'])));
    const flags = await runs.deadAmong(
      data.runId,
      objects.map(({ o }) => String(o['external_id'])),
    );
    await runs.noteLater(
      data.runId,
      objects.flatMap(({ o, line }, i) => (flags[i] ? writesOf(o, line) : [])),
    );
  };
  /** A chunk's settlement into the run record (once per job id), with its dead letters. */
  const record = async (data: TrackJobData, jobId: string, s: Settlement, extra: Partial<Counts>) => {
    if (log.isLevelEnabled('debug')) {
      for (const d of s.deadLetters) {
        // Identifiers and codes only: messages can quote cell values (personal data).
        const rec = d.record?.format === 'json' ? (d.record.value as { external_id?: unknown }) : undefined;
        const fields = { runId: data.runId, jobId, line: d.line, status: d.status, code: d.code };
        log.debug({ ...fields, externalId: rec?.external_id }, 'object refused');
      }
    }
    const letters = s.deadLetters.map((d) => JSON.stringify(d));
    // The chunk is finished with its last part: then its lane moves on.
    const place = {
      lane: data.lane,
      seq: data.seq,
      needs: data.needs,
      finished: s.continuations.length === 0,
    };
    const settled = await runs.settle(data.runId, jobId, { ...s.deltas, ...extra }, letters, place);
    if (settled.ready.length > 0) await wake(settled.ready);
  };
  /** A chunk given up without an answer to classify: every object a dead letter with `message`. */
  const abandon = async (
    data: TrackJobData,
    jobId: string,
    message: string,
    attempts: number,
    maybeDelivered: boolean,
  ) => {
    const kept = await runs.body(data.runId, jobId);
    const result = giveUp(data, kept ?? data.body ?? '{}', message, attempts, maybeDelivered);
    await record(data, jobId, result, {});
  };
  /** The remainder of a chunk (halves, a re-send) joins the queue, counted open before it exists. */
  const carryOn = async (
    job: Job<TrackQueueData>,
    parent: TrackJobData,
    continuations: TrackJobData[],
    maxAttempts: number,
  ) => {
    const opts = trackJobOptions(deps.retentionMs, { attempts: maxAttempts, baseMs: backoffOf(job).baseMs });
    const ids = continuations.map((c) => trackJobId(c));
    // Claimed first: a worker that dies between the claim and the add re-runs this chunk, and the
    // claim does not count the same continuation twice.
    const wanted = await runs.claim(parent.runId, ids);
    const add = continuations.flatMap((c, i) => {
      if (!wanted[i]) return [];
      const { body: _kept, ...data } = c;
      return [{ name: 'track', data, opts: { ...opts, jobId: ids[i] } }];
    });
    // Bodies beside the jobs, before the jobs exist.
    const bodies = continuations.flatMap((c, i) =>
      wanted[i] && c.body ? [{ jobId: ids[i]!, body: c.body }] : [],
    );
    await runs.storeBodies(parent.runId, bodies);
    if (add.length > 0) await queue.addBulk(add);
  };
  /**
   * One attempt at one chunk: the check and a send time, the request, and its outcome recorded. What
   * the queue must do next is the caller's (`single`, `group`): this only says what happened.
   * `job` holds the chunk (itself or its group): it is what a settle wakes when the chunk's lane
   * moves on. `signal` aborts the waiting before the request, `requestSignal` the request itself.
   */
  const attemptChunk = async (
    job: Job<TrackQueueData>,
    data: TrackJobData,
    attemptsMade: number,
    maxAttempts: number,
    signal?: AbortSignal,
    requestSignal?: AbortSignal,
  ): Promise<ChunkEnd> => {
    const jobId = trackJobId(data);
    // The check before the request and a send time, in one call (not before a 429's pause ends).
    const taken = await takeAndStart(data, jobId, job.id ?? jobId, signal);
    // An earlier chunk of its lane (one of its users, or the window) is still under way.
    if (taken.kind === 'blocked') return { kind: 'blocked' };
    if (taken.kind !== 'go') {
      // A copy of a chunk whose outcome is recorded: a resumed run re-enqueued it in the moment between
      // its check and the first copy finishing. Sending it again would duplicate its events.
      log.debug({ runId: data.runId, jobId }, 'chunk already settled; not sent again');
      return { kind: 'done', accepted: 0, failed: 0 };
    }
    // Marked in flight now, cleared by any answer: an earlier attempt's mark still there means its
    // request (a crashed worker's, a timed-out one) may have reached Braze, so this one may duplicate it.
    const { again, deadUsers } = taken;
    let slot = taken.slot;
    // Kept beside the job (v2), or in it (a job queued by an older version).
    const body = taken.body ?? data.body;
    try {
      if (body === undefined) throw new Error(`no request body is kept for ${jobId}`);
      await abortable(deps, signal, (s) => waitForSlot(slot, s));
      // Late for its time (a stalled event loop, a slow Redis): keep its place if the gate still can
      // (gate.retime), else take a new time rather than crowd the window of the request `max` places
      // on. Inside a 429 pause: take one after it.
      while (!deps.gate.onTime(slot) || Date.now() < heldUntil) {
        if (Date.now() >= heldUntil) {
          const late = slot;
          const kept = await abortable(deps, signal, () => deps.gate.retime(late, deps.cls));
          if (kept) slot = kept;
          if (kept && deps.gate.onTime(kept)) break;
        }
        deps.gate.settle(slot, false);
        slot = await abortable(deps, signal, async (s) => {
          const hold = heldUntil - Date.now();
          if (hold > 0) await sleep(hold, undefined, { signal: s });
          return deps.gate.pass(s, deps.cls);
        });
      }
    } catch (err) {
      // Never sent: this attempt leaves no mark (an earlier unanswered one keeps its own), and its time
      // bounds nothing.
      deps.gate.settle(slot, false);
      if (!again) await runs.clearInflight(data.runId, jobId);
      throw err;
    }
    const attempt = { attemptsMade, maxAttempts, maybeDelivered: again };
    const started = performance.now();
    const result = await deps.process(data, body!, attempt, requestSignal);
    // Braze counted it before it answered: the gate bounds its count by now (limiter.ts boundOf). One
    // that got no answer, or a gateway's, may still be counted: its time plus the slack bounds it.
    if (!unansweredBy(result)) deps.gate.settle(slot, true);
    if (result.kind === 'rate-limited' || result.kind === 'retry') deps.pace?.pushback();
    else deps.pace?.answered(performance.now() - started);
    switch (result.kind) {
      case 'settle': {
        if (result.continuations.length > 0) await carryOn(job, data, result.continuations, maxAttempts);
        // Parsed at most once, by whichever of the two below needs the objects first.
        const sent = sentChunk(body, data);
        await noteForReplays(data, sent, result, deadUsers);
        // Braze says its window is (nearly) spent: if it counted more than ours, wait for its reset.
        if (result.rate) {
          await deps.gate.remaining(result.rate.remaining, result.rate.resetMs, result.rate.limit);
          // How far around its time Braze's count reached, and how long the answer took: the jitter
          // the slack must cover.
          const took = performance.now() - (slot.due ?? started);
          const learned = await deps.gate.seen(slot, result.rate.remaining, result.rate.limit, took);
          if (learned && Math.abs(learned.slackMs - slackHeard) >= Math.max(20, slackHeard / 4)) {
            slackHeard = learned.slackMs;
            log.info(
              { slackMs: learned.slackMs, jitterMs: learned.jitterMs, spreadMs: learned.spreadMs },
              "send gate's slack follows the jitter Braze's answers show",
            );
          }
        }
        if (deps.accepted && (result.deltas.objectsAccepted ?? 0) > 0) {
          const attributes = sent.body().attributes ?? [];
          const refused = new Set(result.deadLetters.flatMap(attributesLetterUser));
          // Best effort: a user the record misses is sent again by the next sync; a retry would
          // send this chunk's events twice.
          await deps.accepted(attributes, refused).catch((err: Error) => {
            log.warn({ runId: data.runId, jobId, err: err.message }, 'change record not updated');
          });
        }
        // One round trip per chunk: the request is counted with its outcome.
        await record(data, jobId, result, { requestsSent: 1 });
        return {
          kind: 'done',
          accepted: result.deltas.objectsAccepted ?? 0,
          failed: result.deltas.objectsFailed ?? 0,
        };
      }
      case 'rate-limited':
        heldUntil = Math.max(heldUntil, Date.now() + result.waitMs);
        await runs.clearInflight(data.runId, jobId);
        await runs.incr(data.runId, { requestsSent: 1, requestsRateLimited: 1 });
        // Pauses every worker of the run (the limiter option makes them honour it), not just this one,
        // and moves the gate's next slots past the pause for every run of the rate group.
        await Promise.all([queue.rateLimit(result.waitMs), deps.gate.holdOff(result.waitMs)]);
        return { kind: 'rate-limited' };
      case 'retry':
        if (!result.maybeDelivered) await runs.clearInflight(data.runId, jobId);
        await runs.incr(data.runId, { requestsSent: 1, requestsRetried: 1 });
        return { kind: 'retry', message: result.message, maybeDelivered: result.maybeDelivered };
      case 'halt': {
        await runs.clearInflight(data.runId, jobId);
        await runs.incr(data.runId, { requestsSent: 1 });
        const was = await runs.stop(data.runId, 'halted', result.message);
        await queue.pause();
        // Every chunk in flight meets the same answer: the one that halts the run says so.
        if (was && isLive(was)) log.error({ runId: data.runId, status: result.status }, result.message);
        deps.onHalt?.(data.runId, result.message, result.status);
        return { kind: 'halt', message: result.message };
      }
    }
  };
  /** Out of the way until the settle that moves a lane far enough wakes the job (or 30 s pass). */
  const waitForLanes = async (
    job: Job<TrackQueueData>,
    token: string | undefined,
    chunks: TrackJobData[],
  ) => {
    await job.moveToDelayed(Date.now() + BLOCKED_RECHECK_MS, token);
    // That settle may have come between the check and the move, and found nothing to wake.
    for (const c of chunks) {
      if (await runs.laneReady(c.runId, c)) {
        await job.promote().catch(() => undefined);
        break;
      }
    }
    return new DelayedError();
  };
  /** A job of one chunk: BullMQ retries it (with backoff), pauses it (a 429) or delays it (its lane). */
  const single = async (
    job: Job<TrackQueueData>,
    data: TrackJobData,
    token?: string,
    signal?: AbortSignal,
  ) => {
    const maxAttempts = job.opts.attempts ?? DEFAULT_ATTEMPTS;
    const end = await deps.slots(() =>
      attemptChunk(job, data, job.attemptsMade, maxAttempts, signal, signal),
    );
    switch (end.kind) {
      case 'done':
        return { accepted: end.accepted, failed: end.failed };
      case 'blocked':
        throw await waitForLanes(job, token, [data]);
      case 'rate-limited':
        if ((job.attemptsStarted ?? 0) > MAX_STARTS)
          throw new Error('rate limited too many times; retrying later');
        throw new RateLimitError();
      case 'retry':
        throw new Error(end.message);
      case 'halt':
        throw new HaltError(end.message);
    }
  };
  /**
   * A group of chunks: each is sent and settled on its own, at once, each under its own slot. A
   * retry of one waits its backoff here (the others are not sent again), a 429 waits for Braze's
   * reset here; a chunk whose lane is not ready is tried again once the others are done (it may
   * wait for one of them), and when only such chunks are left the group waits out of the way. A
   * halt stops the chunks that have not left yet; the group fails with it (a resume retries it).
   */
  const group = async (
    job: Job<TrackQueueData>,
    data: TrackGroupData,
    token?: string,
    signal?: AbortSignal,
  ) => {
    const maxAttempts = job.opts.attempts ?? DEFAULT_ATTEMPTS;
    const backoff = retryDelay(job);
    const halting = new AbortController();
    const waits = signal ? AbortSignal.any([signal, halting.signal]) : halting.signal;
    setMaxListeners(data.chunks.length + 10, waits);
    let halt: HaltError | undefined;
    const tally = { accepted: 0, failed: 0 };
    const one = async (c: TrackJobData): Promise<'done' | 'blocked' | 'halt'> => {
      // Attempts a failed run of the whole group used count for each of its chunks.
      let attemptsMade = job.attemptsMade;
      let limited = 0;
      /** An attempt of this run of the group went unanswered: Braze may have the chunk. */
      let unsure = false;
      for (;;) {
        const end = await deps.slots(() => attemptChunk(job, c, attemptsMade, maxAttempts, waits, signal));
        switch (end.kind) {
          case 'done':
            tally.accepted += end.accepted;
            tally.failed += end.failed;
            return 'done';
          case 'blocked':
            return 'blocked';
          case 'halt':
            halt ??= new HaltError(end.message);
            halting.abort();
            return 'halt';
          case 'rate-limited':
            // The next take waits out the pause; a 429 loop still ends: it spends an attempt, and
            // when none is left the chunk is given up (a single chunk's job fails the same way).
            if (++limited <= MAX_STARTS) continue;
            limited = 0;
            if (++attemptsMade >= maxAttempts) {
              await abandon(c, trackJobId(c), 'rate limited too many times', attemptsMade, unsure);
              return 'done';
            }
            break;
          case 'retry':
            unsure ||= end.maybeDelivered;
            attemptsMade++;
            break;
        }
        await abortable(deps, waits, (s) => sleep(backoff(attemptsMade), undefined, { signal: s }));
      }
    };
    let pending = data.chunks;
    for (;;) {
      const ends = await Promise.allSettled(pending.map(one));
      if (halt) throw halt;
      const failure = ends.find((e): e is PromiseRejectedResult => e.status === 'rejected');
      // Closing (RateLimitError: back to the queue unspent) or something unforeseen (BullMQ retries
      // the group; its settled chunks are not sent again).
      if (failure) throw failure.reason;
      const blocked = pending.filter(
        (_, i) => (ends[i] as PromiseFulfilledResult<string>).value === 'blocked',
      );
      if (blocked.length === 0) return tally;
      // Some chunks finished meanwhile, perhaps the ones the blocked ones wait for: look again.
      if (blocked.length < pending.length) {
        pending = blocked;
        continue;
      }
      throw await waitForLanes(job, token, blocked);
    }
  };
  const handler = (job: Job<TrackQueueData>, token?: string, signal?: AbortSignal) => {
    // Its lines just parsed by BullMQ: packed before the chunks wait for their slots and answers.
    const data = job.data;
    packChunkLines(chunksOf(data));
    return isGroup(data) ? group(job, data, token, signal) : single(job, data, token, signal);
  };
  const worker = new Worker<TrackQueueData>(queue.name, handler, {
    connection: deps.connection,
    prefix: deps.prefix,
    concurrency: deps.concurrency,
    limiter: deps.limiter,
    autorun: false,
    maxStartedAttempts: MAX_STARTS + 10,
    lockDuration: deps.lockMs ?? 30_000,
    stalledInterval: deps.lockMs ?? 30_000,
    // Chunks are short; a chunk that stalls is a worker that died, not a poison job: take it over.
    maxStalledCount: 10,
  });
  worker.on('error', (err) => log.warn({ err: err.message }, 'worker error'));
  worker.on('failed', (job, err) => {
    if (!job || err instanceof HaltError || err.name === 'RateLimitError') return;
    log.debug({ jobId: job.id, attempt: job.attemptsMade, reason: err.message }, 'chunk attempt failed');
    const final = err instanceof UnrecoverableError || job.attemptsMade >= (job.opts.attempts ?? 1);
    if (!final) return;
    // Safety net: a failure the processor did not turn into an outcome must still be accounted for
    // (for a group, each chunk it holds; one already settled is not counted again).
    const chunks = chunksOf(job.data);
    // Under the chunk's own id, as attemptChunk settles it.
    const giveUpChunk = (data: TrackJobData) =>
      abandon(data, trackJobId(data), `failed: ${err.message}`, job.attemptsMade, true);
    Promise.all(chunks.map(giveUpChunk)).catch((e: Error) => {
      log.error({ jobId: job.id, err: e.message }, 'could not record a failed chunk');
    });
  });
  return worker;
}

/** The attempt got no answer from Braze (none came, or a gateway's 504): Braze may count it later. */
function unansweredBy(result: ChunkResult): boolean {
  if (result.kind === 'retry') return result.maybeDelivered;
  return result.kind === 'settle' && result.unanswered === true;
}
