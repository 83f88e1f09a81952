/**
 * A chunk split in halves: the halves may be taken by other workers and settle before the chunk
 * that made them does. The run must not be finished until every part is, whatever the order.
 */
import { describe, expect, it } from 'vitest';
import type { TrackJobData } from '../../schemas/track.js';
import { createTrackQueue, trackJobId, trackJobOptions } from '../../src/infra/queues.js';
import { createRunStore, type RunStore } from '../../src/runs/store.js';
import type { ChunkResult } from '../../src/send/processor.js';
import { runStart } from '../helpers/factories.js';
import { testRedis, useTestRedis } from '../helpers/redis.js';
import { testTrackWorker } from '../helpers/worker.js';

const t = useTestRedis('cont');

const chunk = (part: string): TrackJobData => ({
  v: 1,
  runId: 'r',
  chunk: 0,
  part,
  lane: 0,
  seq: 0,
  needs: -1,
  body: '{}',
  objects: 2,
  lines: { attributes: [[2], [3]], events: [], purchases: [] },
});

describe('continuations are counted open before they exist', () => {
  it('halves that settle before their parent do not finish the run early', async () => {
    const prefix = t.prefix();
    const redis = t.redis();
    const store = createRunStore(redis, prefix, 60_000);
    await store.create('r', runStart('f.jsonl'));
    // Reading has ended: one chunk, claimed (open) by the producer.
    await store.claim('r', [trackJobId(chunk(''))]);
    await store.markProducerDone('r');

    const statusWhenSettled: Record<string, string> = {};
    let releaseParent = () => {};
    const parentMayFinish = new Promise<void>((resolve) => {
      releaseParent = resolve;
    });
    let halvesSettled = 0;
    // The parent's settle waits until both halves have settled: the order the race needs.
    const runs: RunStore = {
      ...store,
      async settle(runId, jobId, deltas, letters) {
        if (jobId === 'r-0') await parentMayFinish;
        const done = await store.settle(runId, jobId, deltas, letters);
        statusWhenSettled[jobId] = (await store.get(runId))?.status ?? '';
        if (jobId !== 'r-0' && ++halvesSettled === 2) releaseParent();
        return done;
      },
    };
    const process = async (data: TrackJobData): Promise<ChunkResult> => {
      if (data.part === '') {
        return {
          kind: 'settle',
          deltas: { jobsOpen: -1 },
          deadLetters: [],
          continuations: [chunk('.0'), chunk('.1')],
        };
      }
      return {
        kind: 'settle',
        deltas: { jobsOpen: -1, objectsAccepted: 1 },
        deadLetters: [],
        continuations: [],
      };
    };
    const queue = createTrackQueue(redis, prefix, 'r');
    const connection = testRedis();
    const limit = { max: 1000, windowMs: 1000 };
    const worker = testTrackWorker({
      runId: 'r',
      redis: redis,
      connection,
      queue,
      prefix,
      runs,
      process,
      limit,
      concurrency: 4,
    });
    try {
      await queue.add('track', chunk(''), { ...trackJobOptions(60_000), jobId: trackJobId(chunk('')) });
      void worker.run();
      for (let i = 0; i < 200 && Object.keys(statusWhenSettled).length < 3; i++) {
        await new Promise((r) => setTimeout(r, 25));
      }
      // Each half settled while another part was still open: the run was still sending.
      expect(statusWhenSettled).toEqual({ 'r-0.0': 'sending', 'r-0.1': 'sending', 'r-0': 'completed' });
      expect(await store.get('r')).toMatchObject({ jobsOpen: 0, objectsAccepted: 2 });
    } finally {
      await worker.close();
      await queue.close();
      await connection.quit();
    }
  });
});
