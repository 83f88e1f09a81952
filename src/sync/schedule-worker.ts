import { type Job, Worker } from 'bullmq';
import type { Config } from '../config.js';
import type { Logger } from '../infra/logger.js';
import { openRedis } from '../infra/queues.js';
import { closeRedis, createRedis } from '../infra/redis.js';
import { createResources } from '../infra/resources.js';
import { createFiringHandler } from './fire.js';
import type { SyncLauncher } from './launcher.js';
import { createScheduleStore, type FiringJobData, schedulesQueueName } from './schedules.js';

/**
 * Firings handled at once by one worker process. More than one so that a firing that comes while
 * this process runs a long sync is looked at on time (and skipped, if it is the same schedule's)
 * rather than queued behind it and run late.
 */
export const SCHEDULE_CONCURRENCY = 4;

export interface ScheduleWorkerOptions {
  config: Config;
  log: Logger;
  redisUrl: string;
  /** The worker's own destination: only its schedules fire here. */
  destId: string;
  launcher: SyncLauncher;
  concurrency?: number;
}

export interface ScheduleWorker {
  /**
   * Stops taking firings and asks the syncs under way to stop (their launcher's signal), then waits
   * for them; with force, waits for nothing.
   */
  close(force?: boolean): Promise<void>;
}

/**
 * The BullMQ worker of the destination's schedules queue. BullMQ hands each firing (one job per
 * cron time, however many workers ask) to one worker. A firing whose worker dies is not run again
 * (maxStalledCount 0): its sync may have sent part of the file, and the next firing, which finds the
 * file not synced, is the sync's own chance to take it up; the lock lapses by then.
 */
export async function startScheduleWorker(o: ScheduleWorkerOptions): Promise<ScheduleWorker> {
  const { config, log } = o;
  const res = createResources();
  const stopping = new AbortController();
  try {
    const state = await openRedis(res, {
      url: o.redisUrl,
      role: 'worker',
      name: 'braze-import:schedules-state',
      log,
    });
    const blocking = createRedis(o.redisUrl, 'worker', 'braze-import:schedules');
    res.defer('schedules redis', () => closeRedis(blocking));
    const fire = createFiringHandler({
      store: createScheduleStore(state, config.prefix, o.destId),
      launcher: o.launcher,
      log,
      lockMs: config.worker.lockMs,
      stopping: stopping.signal,
    });
    const worker = new Worker<FiringJobData>(
      schedulesQueueName(o.destId),
      (job: Job<FiringJobData>) => fire(job.data.name, job.opts.prevMillis),
      {
        connection: blocking,
        prefix: config.prefix,
        concurrency: o.concurrency ?? SCHEDULE_CONCURRENCY,
        autorun: false,
        lockDuration: config.worker.lockMs,
        stalledInterval: config.worker.lockMs,
        maxStalledCount: 0,
      },
    );
    worker.on('error', (err) => log.warn({ err: err.message }, 'schedules worker error'));
    worker.on('failed', (job, err) => {
      log.warn({ schedule: job?.data.name, err: err.message }, 'a firing failed');
    });
    res.defer('schedules worker', () => worker.close());
    worker
      .run()
      .catch((err: Error) => log.error({ err: err.message }, 'schedules worker stopped unexpectedly'));
    return {
      async close(force = false) {
        stopping.abort();
        if (force) {
          void worker.close(true).catch(() => undefined);
          return;
        }
        const errors = await res.closeAll();
        for (const e of errors) log.warn(e.message);
      },
    };
  } catch (err) {
    await res.closeAll();
    throw err;
  }
}
