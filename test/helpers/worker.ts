import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import pLimit from 'p-limit';
import type { RateLimit } from '../../schemas/config.js';
import type { TrackJobData, TrackQueueData } from '../../schemas/track.js';
import type { RunStore } from '../../src/runs/store.js';
import { createRateGate } from '../../src/send/gate.js';
import { bullLimiterFor } from '../../src/send/limiter.js';
import type { ChunkProcessor } from '../../src/send/processor.js';
import { createTaker } from '../../src/send/take.js';
import { createTrackWorker } from '../../src/send/worker.js';
import { quietLog } from './import.js';

/** A track worker for run `runId` with a stand-in processor (no HTTP), on its own blocking connection. */
export function testTrackWorker(o: {
  runId: string;
  redis: Redis;
  connection: Redis;
  queue: Queue<TrackQueueData>;
  prefix: string;
  runs: RunStore;
  process: (data: TrackJobData) => ReturnType<ChunkProcessor>;
  limit: RateLimit;
  concurrency: number;
}) {
  const gate = createRateGate(o.redis, o.prefix, 'dest', [o.limit]);
  return createTrackWorker({
    runId: o.runId,
    connection: o.connection,
    queue: o.queue,
    prefix: o.prefix,
    concurrency: o.concurrency,
    slots: pLimit(o.concurrency),
    gate,
    take: createTaker(o.redis, o.prefix, 60, gate),
    limiter: bullLimiterFor(o.limit),
    process: o.process,
    runs: o.runs,
    log: quietLog,
    retentionMs: 60_000,
  });
}
