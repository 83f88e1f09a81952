import { setMaxListeners } from 'node:events';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Queue, Worker } from 'bullmq';
import type { Redis } from 'ioredis';
import pLimit from 'p-limit';
import type { RateLimit } from '../../schemas/config.js';
import type { TrackQueueData } from '../../schemas/track.js';
import type { Config } from '../config.js';
import type { Logger } from '../infra/logger.js';
import { meterClient, meterProcessor, type SendMetrics } from '../infra/metrics.js';
import { createTrackQueue, openRedis } from '../infra/queues.js';
import { closeRedis, createRedis } from '../infra/redis.js';
import { createResources } from '../infra/resources.js';
import { destinationOf } from '../runs/destination.js';
import {
  createRunStore,
  DEFAULT_BACKFILL_SHARE,
  isCompleted,
  isLive,
  type RunRecord,
  type RunStore,
} from '../runs/store.js';
import { isAbandoned, type Summary, summarize } from '../runs/summary.js';
import { syncCommitter } from '../sync/commit.js';
import { type ConcurrencyRule, initialConcurrency, onAnswer, onPushback } from './concurrency.js';
import { createRateGate, PLAIN, type RateGate, type TakeClass } from './gate.js';
import { createTrackClient, type TrackClient } from './http.js';
import { bullLimiterFor } from './limiter.js';
import { createChunkProcessor } from './processor.js';
import { createTaker, type Taker } from './take.js';
import { createTrackWorker } from './worker.js';

export interface SenderOptions {
  config: Config;
  log: Logger;
  redisUrl: string;
  braze: { endpoint: string; apiKey: string };
  /** Requests in flight; undefined: sized to the rate limit and the latency (src/send/concurrency.ts). */
  concurrency?: number | undefined;
  /**
   * Which runs this process sends: one run (`run` sends its own chunks and nobody else's), or every
   * fleet run of its destination (`braze-import worker`), found as they appear.
   */
  scope: { runId: string } | 'fleet';
  /** Braze refused us for good (401/403/404): the run is halted. */
  onHalt?: (runId: string, message: string, status: number) => void;
  /** The sending side died (a crashed thread, a worker loop that gave up): the run cannot finish here. */
  onFailure?: (message: string) => void;
  /**
   * A fleet run completed and this process took it off its destination's list: called once across
   * all the workers of the destination, with the run's summary (`worker --notify` posts it).
   */
  onRunEnd?: (summary: Summary) => void;
  /** How often a fleet sender looks for runs to send (ms). */
  discoverMs?: number;
  /** Request-level metrics (`worker --metrics-port`); none when undefined. */
  metrics?: SendMetrics;
}

/** What this process's sender did since it started (for its own log line; runs hold the totals). */
export interface SenderTally {
  chunks: number;
  objectsAccepted: number;
  objectsFailed: number;
}

export interface Sender {
  /** Stops taking jobs, lets requests in flight finish (or, with force, abandons them), closes all. */
  close(force?: boolean): Promise<void>;
  tally(): SenderTally;
}

interface Attached {
  queue: Queue<TrackQueueData>;
  worker: Worker<TrackQueueData>;
  blocking: Redis;
  stopWaiting: AbortController;
  /** Chunks per job of this run (its record's jobGroup). */
  group: number;
}

type Api = 'track' | 'bulk';

interface ApiWiring {
  gate: RateGate;
  take: Taker;
  client: TrackClient;
  /** The endpoint's burst limit (BullMQ's loose limiter, so a 429 pause reaches every worker). */
  limit: RateLimit;
}

/** How a run takes from its gate: syncs mark the group as syncing; backfills keep to their share. */
function classOf(run: RunRecord | undefined): TakeClass {
  if (run?.kind === 'sync') return { kind: 'sync' };
  if (run?.kind === 'backfill') return { kind: 'backfill', share: run.share ?? DEFAULT_BACKFILL_SHARE };
  return PLAIN;
}

/** Jobs fetched beyond the requests in flight, ready when a slot frees. */
const PREFETCH = 8;

/** Jobs of a run worked on at once: enough to fill `limit` slots with chunks, and a few ready. */
const jobsFor = (limit: number, group: number) => Math.ceil(limit / group) + PREFETCH;
/**
 * The most requests in flight a process sizes itself to: 1,000 requests/s at 340 ms (with the rule's
 * 1.5 headroom). 16 lanes x 49 chunks can use 784 (src/import/input.ts LANE_WINDOW).
 */
export const MAX_IN_FLIGHT = 512;

/**
 * The in-flight rule of this process: fixed by --concurrency, else sized to the latency at the
 * group's burst rate (the shortest window's).
 */
function pacing(config: Config, fixed: number | undefined) {
  const burst = config.braze.trackRateLimit;
  const rule: ConcurrencyRule = fixed
    ? { ratePerMs: 0, min: fixed, max: fixed }
    : { ratePerMs: burst.max / burst.windowMs, min: 4, max: MAX_IN_FLIGHT };
  return { rule, state: initialConcurrency(rule), fixed: fixed !== undefined };
}

/**
 * A fleet worker serves a run while it is live and nobody abandoned it, and only a run recorded for
 * its own destination: a chunk never goes out with another workspace's key.
 */
function serves(run: RunRecord | undefined, destId: string): boolean {
  return (
    run !== undefined &&
    run.mode === 'fleet' &&
    run.destId === destId &&
    isLive(run.status) &&
    !isAbandoned(run)
  );
}

/**
 * The sending side: per run it serves, a BullMQ worker on that run's queue; shared by all of them,
 * the rate gate of the destination, an undici pool, the run store and a limit on requests in flight.
 * The same wiring serves `braze-import worker`, `run` in-process and `run`'s thread.
 */
export async function startSender(o: SenderOptions): Promise<Sender> {
  const { config, log } = o;
  const res = createResources();
  const dest = destinationOf(o.braze.endpoint, o.braze.apiKey);
  const attached = new Map<string, Attached>();
  const tally: SenderTally = { chunks: 0, objectsAccepted: 0, objectsFailed: 0 };
  const stopLooking = new AbortController();
  try {
    // Workers wait through Redis outages, but the first connection must work: fail with one line.
    const state = await openRedis(res, {
      url: o.redisUrl,
      role: 'worker',
      name: 'braze-import:sender-state',
      log,
    });
    const pace = pacing(config, o.concurrency);
    const runs = createRunStore(state, config.prefix, config.retentionMs);
    const group = config.braze.rateGroup ?? dest.id;
    /**
     * Per Braze endpoint a run may use, made when a run first needs it: its undici pool, its gate
     * (/users/track/bulk has its own limit, so its own gate), the combined take and the processor.
     */
    const apis = new Map<Api, ApiWiring>();
    const wiring = (api: Api): ApiWiring => {
      const made = apis.get(api);
      if (made) return made;
      const bulk = api === 'bulk';
      const client = createTrackClient({
        ...o.braze,
        connections: pace.rule.max,
        timeoutMs: config.braze.requestTimeoutMs,
        ...(bulk ? { path: '/users/track/bulk' } : {}),
      });
      res.defer(`${api} http pool`, () => client.close());
      const gate = createRateGate(
        state,
        config.prefix,
        bulk ? `${group}:bulk` : group,
        bulk ? config.braze.bulkRateLimits : config.braze.trackRateLimits,
        config.braze.rateSlackMs,
      );
      const take = createTaker(state, config.prefix, Math.ceil(config.retentionMs / 1000), gate);
      const w = {
        gate,
        take,
        client,
        limit: bulk ? config.braze.bulkRateLimits[0]! : config.braze.trackRateLimit,
      };
      apis.set(api, w);
      return w;
    };
    const slots = pLimit(pace.state.limit);
    /** A new limit: as many slots, and enough jobs fetched to fill them (a few more, ready). */
    const apply = () => {
      slots.concurrency = pace.state.limit;
      for (const a of attached.values()) a.worker.concurrency = jobsFor(pace.state.limit, a.group);
    };
    const onQueueError = (err: Error) => log.debug({ err: err.message }, 'queue');

    const attach = async (runId: string) => {
      const queue = createTrackQueue(state, config.prefix, runId, onQueueError);
      // BullMQ drops old failed jobs only when another fails; they hold user data, so enforce retention.
      await queue.clean(config.retentionMs, 1000, 'failed');
      const blocking = createRedis(o.redisUrl, 'worker', 'braze-import:sender');
      const stopWaiting = new AbortController();
      // Every chunk waiting at the gate listens to it (and stops listening when it leaves).
      const run = await runs.get(runId);
      const group = run?.jobGroup ?? 1;
      // (and every chunk of a group waiting out a retry's backoff).
      setMaxListeners(jobsFor(pace.rule.max, group) * group + 10, stopWaiting.signal);
      const accepted = await syncCommitter(state, run);
      const api = wiring(run?.api === 'bulk' ? 'bulk' : 'track');
      const worker = createTrackWorker({
        runId,
        accepted,
        cls: classOf(run),
        gate: api.gate,
        take: api.take,
        // One per run, so that metrics know the kind of run each request belongs to (infra/metrics.ts).
        process: meterProcessor(
          o.metrics,
          runId,
          createChunkProcessor({ client: meterClient(o.metrics, runId, api.client) }),
        ),
        connection: blocking,
        queue,
        prefix: config.prefix,
        concurrency: jobsFor(pace.state.limit, group),
        slots,
        pace: pace.fixed
          ? undefined
          : {
              answered: (ms) => {
                const before = pace.state.limit;
                onAnswer(pace.state, pace.rule, ms, Date.now());
                if (pace.state.limit !== before) apply();
              },
              pushback: () => {
                onPushback(pace.state, pace.rule, Date.now());
                apply();
              },
            },
        limiter: bullLimiterFor(api.limit),
        stopWaiting: stopWaiting.signal,
        runs,
        log,
        retentionMs: config.retentionMs,
        lockMs: config.worker.lockMs,
        onHalt: o.onHalt,
      });
      worker.on('completed', (_job, done: { accepted: number; failed: number }) => {
        tally.chunks++;
        tally.objectsAccepted += done.accepted;
        tally.objectsFailed += done.failed;
      });
      attached.set(runId, { queue, worker, blocking, stopWaiting, group });
      worker.run().catch((err: Error) => {
        log.error({ runId, err: err.message }, 'worker stopped unexpectedly');
        o.onFailure?.(`sending stopped: ${err.message}`);
      });
      log.debug({ runId }, 'sending run');
    };
    /** Requests in flight finish; chunks still waiting for their send time go back to the queue. */
    const detach = async (runId: string, force = false) => {
      const a = attached.get(runId);
      if (!a) return;
      attached.delete(runId);
      a.stopWaiting.abort();
      if (force) void a.worker.close(true).catch(() => undefined);
      else await a.worker.close().catch(() => undefined);
      await a.queue.close().catch(() => undefined);
      await closeRedis(a.blocking);
    };

    const scope = o.scope;
    let discovery: Promise<void> = Promise.resolve();
    if (scope === 'fleet') {
      discovery = discover({
        runs,
        destId: dest.id,
        every: o.discoverMs ?? 1000,
        stop: stopLooking.signal,
        attached: () => attached.keys(),
        attach,
        detach,
        ended: o.onRunEnd,
        cleanUp: async (runId) => {
          const queue = createTrackQueue(state, config.prefix, runId, onQueueError);
          await queue.obliterate().finally(() => queue.close());
          await runs.dropBodies(runId);
        },
        log,
      });
    } else {
      await attach(scope.runId);
    }
    return {
      tally: () => ({ ...tally }),
      async close(force = false) {
        stopLooking.abort();
        await discovery;
        await Promise.all([...attached.keys()].map((id) => detach(id, force)));
        const errors = await res.closeAll();
        for (const e of errors) log.warn(e.message);
      },
    };
  } catch (err) {
    await res.closeAll();
    throw err;
  }
}

/**
 * A fleet sender's loop: start sending a fleet run of its destination when it appears, stop when it
 * ends, is stopped or is abandoned. The worker that finds a run completed or cancelled removes its
 * queue's keys and takes it off the destination's list.
 */
async function discover(o: {
  runs: RunStore;
  destId: string;
  every: number;
  stop: AbortSignal;
  attached: () => Iterable<string>;
  attach: (runId: string) => Promise<void>;
  detach: (runId: string) => Promise<void>;
  cleanUp: (runId: string) => Promise<void>;
  ended?: ((summary: Summary) => void) | undefined;
  log: Logger;
}): Promise<void> {
  while (!o.stop.aborted) {
    try {
      const ids = await o.runs.fleetRuns(o.destId);
      const wanted = new Set<string>();
      for (const id of ids) {
        const run = await o.runs.get(id);
        if (serves(run, o.destId)) {
          wanted.add(id);
          continue;
        }
        if (run && isLive(run.status)) continue; // abandoned while reading: parked until resumed
        if (run && (isCompleted(run.status) || run.status === 'cancelled')) {
          // Non-forced: fails while another worker still finishes a job; the next look tries again.
          const cleaned = await o.cleanUp(id).then(
            () => true,
            () => false,
          );
          if (!cleaned) continue;
        }
        const left = await o.runs.leaveFleet(o.destId, id);
        // A stopped run's own process says so; a completed one ended in the workers, so one of them does.
        if (left && run && isCompleted(run.status)) o.ended?.(summarize(run));
      }
      for (const id of [...o.attached()]) if (!wanted.has(id)) void o.detach(id);
      for (const id of wanted) if (![...o.attached()].includes(id) && !o.stop.aborted) await o.attach(id);
    } catch (err) {
      o.log.warn({ err: (err as Error).message }, 'could not look for runs to send; trying again');
    }
    await sleep(o.every, undefined, { signal: o.stop }).catch(() => undefined);
  }
}
