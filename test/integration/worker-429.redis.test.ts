import { describe, expect, it } from 'vitest';
import type { TrackJobData } from '../../schemas/track.js';
import { createTrackQueue, trackJobId, trackJobOptions } from '../../src/infra/queues.js';
import { createRunStore } from '../../src/runs/store.js';
import type { ChunkResult } from '../../src/send/processor.js';
import { runStart } from '../helpers/factories.js';
import { testRedis, useTestRedis } from '../helpers/redis.js';
import { testTrackWorker } from '../helpers/worker.js';

const t = useTestRedis('w429');

/** A run 'r' with `n` one-object chunks queued, chunk i in lane lane(i), and a worker for it. */
async function queuedRun(
  n: number,
  lane: (chunk: number) => number,
  o: {
    limit: { max: number; windowMs: number };
    process: (data: TrackJobData) => Promise<ChunkResult>;
    concurrency: number;
  },
) {
  const prefix = t.prefix();
  const queue = createTrackQueue(t.redis(), prefix, 'r');
  const runs = createRunStore(t.redis(), prefix, 60_000);
  await runs.create('r', runStart('test'));
  const connection = testRedis();
  const worker = testTrackWorker({ runId: 'r', redis: t.redis(), connection, queue, prefix, runs, ...o });
  const jobs = Array.from({ length: n }, (_, chunk) => {
    const data: TrackJobData = {
      v: 1,
      runId: 'r',
      chunk,
      part: '',
      lane: lane(chunk),
      seq: 0,
      needs: -1,
      body: '{}',
      objects: 1,
      lines: { attributes: [[1]], events: [], purchases: [] },
    };
    return { name: 'track', data, opts: { ...trackJobOptions(60_000), jobId: trackJobId(data) } };
  });
  await queue.addBulk(jobs);
  const close = async () => {
    await worker.close();
    await queue.close();
    await connection.quit();
  };
  return { prefix, worker, close };
}

describe('the track worker after a 429', () => {
  it('does not send chunks that were already waiting at the gate inside the pause', async () => {
    // 10 requests per 1.1 s and 30 chunks: after the first ten, chunks wait at the gate for times
    // spread over the next windows, so some of those times fall inside the pause.
    const limit = { max: 10, windowMs: 1000 };
    const pauseMs = 1500;
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
    const run = await queuedRun(30, () => 0, { limit, process, concurrency: 16 });
    try {
      void run.worker.run();
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
      await run.close();
    }
  });

  it('tells the gate how long its answers took and what Braze counted of the burst limit', async () => {
    let answered = 0;
    // Braze answers after 40 ms, saying 5 of its 10 are left.
    const process = async (): Promise<ChunkResult> => {
      await new Promise((r) => setTimeout(r, 40));
      answered++;
      const rate = { limit: 10, remaining: 5, resetMs: 1000 };
      return { kind: 'settle', deltas: { jobsOpen: -1 }, deadLetters: [], continuations: [], rate };
    };
    const run = await queuedRun(20, (chunk) => chunk, {
      limit: { max: 10, windowMs: 1000 },
      process,
      concurrency: 4,
    });
    try {
      void run.worker.run();
      for (let i = 0; i < 400 && answered < 20; i++) await new Promise((r) => setTimeout(r, 50));
      expect(answered).toBe(20);
      // The answers sent with their batches (one every 100 ms): 40 ms or more after their times.
      const state = await t.redis().hgetall(`${run.prefix}:gate:dest`);
      expect(Number(state['rlo'])).toBeGreaterThanOrEqual(35);
      expect(Number(state['rhi'])).toBeGreaterThanOrEqual(Number(state['rlo']));
      // Too few answers for an estimate (half the burst limit's are needed, at least 20).
      expect(state['jit']).toBe('-1');
    } finally {
      await run.close();
    }
  });
});
