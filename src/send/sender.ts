import { setMaxListeners } from 'node:events';
import type { Config } from '../config.js';
import type { Logger } from '../infra/logger.js';
import { openTrackQueue, TRACK_QUEUE } from '../infra/queues.js';
import { closeRedis, createRedis } from '../infra/redis.js';
import { createResources } from '../infra/resources.js';
import { createRunStore } from '../runs/store.js';
import { createRateGate } from './gate.js';
import { createTrackClient } from './http.js';
import { bullLimiterFor, gateFor } from './limiter.js';
import { createChunkProcessor } from './processor.js';
import { createTrackWorker } from './worker.js';

export interface SenderOptions {
  config: Config;
  log: Logger;
  redisUrl: string;
  braze: { endpoint: string; apiKey: string };
  concurrency: number;
  /** Braze refused us for good (401/403/404): the run is halted. */
  onHalt?: (runId: string, message: string) => void;
  /** The sending side died (a crashed thread, a worker loop that gave up): the run cannot finish here. */
  onFailure?: (message: string) => void;
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

/**
 * The sending side: a BullMQ worker on the track queue behind the shared rate gate, an undici pool and
 * the run store. The same wiring serves `braze-import worker`, `run` in-process and `run`'s thread.
 */
export async function startSender(o: SenderOptions): Promise<Sender> {
  const { config, log } = o;
  const res = createResources();
  try {
    // Workers wait through Redis outages, but the first connection must work: fail with one line.
    const { redis: state, queue } = await openTrackQueue(res, {
      url: o.redisUrl,
      role: 'worker',
      name: 'braze-import:sender-state',
      prefix: config.prefix,
      log,
    });
    // BullMQ drops old failed jobs only when another fails; they hold user data, so enforce retention.
    await queue.clean(config.retentionMs, 1000, 'failed');
    const client = createTrackClient({
      ...o.braze,
      connections: o.concurrency,
      timeoutMs: config.braze.requestTimeoutMs,
    });
    res.defer('http pool', () => client.close());
    const blocking = createRedis(o.redisUrl, 'worker', 'braze-import:sender');
    res.defer('worker redis', () => closeRedis(blocking));
    const stopWaiting = new AbortController();
    // Every chunk waiting at the gate listens to it (and stops listening when it leaves).
    setMaxListeners(o.concurrency + 10, stopWaiting.signal);
    const worker = createTrackWorker({
      connection: blocking,
      queue,
      prefix: config.prefix,
      concurrency: o.concurrency,
      gate: createRateGate(state, config.prefix, TRACK_QUEUE, gateFor(config.braze.trackRateLimit)),
      limiter: bullLimiterFor(config.braze.trackRateLimit),
      stopWaiting: stopWaiting.signal,
      process: createChunkProcessor({ client }),
      runs: createRunStore(state, config.prefix, config.retentionMs),
      log,
      retentionMs: config.retentionMs,
      lockMs: config.worker.lockMs,
      onHalt: o.onHalt,
    });
    res.defer('worker', () => {
      // Requests in flight finish; chunks still waiting for their send time go back to the queue.
      stopWaiting.abort();
      return worker.close();
    });
    const tally: SenderTally = { chunks: 0, objectsAccepted: 0, objectsFailed: 0 };
    worker.on('completed', (_job, done: { accepted: number; failed: number }) => {
      tally.chunks++;
      tally.objectsAccepted += done.accepted;
      tally.objectsFailed += done.failed;
    });
    worker.run().catch((err: Error) => {
      log.error({ err: err.message }, 'worker stopped unexpectedly');
      o.onFailure?.(`sending stopped: ${err.message}`);
    });
    return {
      tally: () => ({ ...tally }),
      async close(force = false) {
        // A second, forcing call may arrive while the graceful close waits for requests in flight.
        if (force) void worker.close(true);
        const errors = await res.closeAll();
        for (const e of errors) log.warn(e.message);
      },
    };
  } catch (err) {
    await res.closeAll();
    throw err;
  }
}
