import { describe, expect, it } from 'vitest';
import type { TrackJobData } from '../../schemas/track.js';
import { createTrackQueue, trackJobId, trackJobOptions } from '../../src/infra/queues.js';
import { createRunStore } from '../../src/runs/store.js';
import type { ChunkResult } from '../../src/send/processor.js';
import { runStart } from '../helpers/factories.js';
import { testRedis, useTestRedis } from '../helpers/redis.js';
import { testTrackWorker } from '../helpers/worker.js';

const t = useTestRedis('w429');

describe('the track worker after a 429', () => {
  it('does not send chunks that were already waiting at the gate inside the pause', async () => {
    const prefix = t.prefix();
    // 10 requests per 1.1 s and 30 chunks: after the first ten, chunks wait at the gate for times
    // spread over the next windows, so some of those times fall inside the pause.
    const limit = { max: 10, windowMs: 1000 };
    const pauseMs = 1500;
    const queue = createTrackQueue(t.redis(), prefix, 'r');
    const runs = createRunStore(t.redis(), prefix, 60_000);
    await runs.create('r', runStart('test'));
    const calls: { chunk: number; at: number }[] = [];
    let answered429At = 0;
    const process = async (data: TrackJobData): Promise<ChunkResult> => {
      calls.push({ chunk: data.chunk, at: Date.now() });
      if (data.chunk === 12 && answered429At === 0) {
        answered429At = Date.now();
        return { kind: 'rate-limited', waitMs: pauseMs };
      }
      return { kind: 'settle', deltas: { jobsOpen: -1 }, deadLetters: [], continuations: [] };
    };
    const connection = testRedis();
    const worker = testTrackWorker({
      runId: 'r',
      redis: t.redis(),
      connection,
      queue,
      prefix,
      runs,
      process,
      limit,
      concurrency: 16,
    });
    try {
      const jobs = Array.from({ length: 30 }, (_, chunk) => {
        const data: TrackJobData = {
          v: 1,
          runId: 'r',
          chunk,
          part: '',
          lane: 0,
          seq: 0,
          needs: -1,
          body: '{}',
          objects: 1,
          lines: { attributes: [[1]], events: [], purchases: [] },
        };
        return { name: 'track', data, opts: { ...trackJobOptions(60_000), jobId: trackJobId(data) } };
      });
      await queue.addBulk(jobs);
      void worker.run();
      const done = () => new Set(calls.map((c) => c.chunk)).size === 30 && calls.length === 31;
      for (let i = 0; i < 400 && !done(); i++) await new Promise((r) => setTimeout(r, 50));
      expect(done()).toBe(true);
      expect(answered429At).toBeGreaterThan(0);
      // Requests already on their way when the answer came may leave with it; nothing leaves later
      // inside the pause. (Without the hold, chunks waiting at the gate left every ~110 ms in it.)
      const inPause = calls.filter((c) => c.at >= answered429At + 50 && c.at < answered429At + pauseMs);
      expect(inPause).toEqual([]);
      // The refused chunk itself went back and was sent once the pause was over.
      const again = calls.filter((c) => c.chunk === 12);
      expect(again).toHaveLength(2);
      expect(again[1]!.at).toBeGreaterThanOrEqual(answered429At + pauseMs);
    } finally {
      await worker.close();
      await queue.close();
      await connection.quit();
    }
  });
});
