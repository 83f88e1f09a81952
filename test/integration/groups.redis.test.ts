import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { isGroup, type TrackQueueData } from '../../schemas/track.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { runImport } from '../../src/import/import.js';
import { JOB_GROUP, trackQueueName } from '../../src/infra/queues.js';
import { createRunStore } from '../../src/runs/store.js';
import { checkSummary } from '../../src/runs/summary.js';
import { jsonInput, quietLog, testConfig } from '../helpers/import.js';
import { testRedisUrl } from '../helpers/redis.js';

/**
 * Several chunks per queued job (TrackGroupData): each chunk is still checked, sent, retried and
 * settled on its own. What must hold: nothing is sent twice when some chunks of a group fail and
 * others do not, a chunk waiting for another of its own group is sent once that one is done, and a
 * 429 in a group costs no chunk.
 */
let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: 'test-key' });
});
afterAll(() => emu.close());
beforeEach(() => emu.reset());

const users = (n: number) =>
  Array.from({ length: n }, (_, i) => ({ external_id: `u${i}`, score: i, first_name: `N${i}` }));

async function importValues(values: unknown[], env: Record<string, string> = {}, endpoint = emu.url) {
  const config = testConfig({ BRAZE_RETRY_BASE_MS: '50', ...env });
  const summary = await runImport(jsonInput(values, config), {
    config,
    log: quietLog,
    redisUrl: testRedisUrl(),
    braze: { endpoint, apiKey: 'test-key' },
    concurrency: 16,
  });
  return { summary, config };
}

describe('chunks grouped in jobs', () => {
  it('queues new runs in groups of JOB_GROUP chunks under ids a resume rebuilds', async () => {
    const config = testConfig();
    const redis = new Redis(testRedisUrl());
    try {
      // Enqueue only: the jobs stay in the queue to be looked at.
      const s = await runImport(jsonInput(users(3000), config), {
        config,
        log: quietLog,
        redisUrl: testRedisUrl(),
        braze: { endpoint: emu.url, apiKey: 'test-key' },
        enqueueOnly: true,
      });
      const run = await createRunStore(redis, config.prefix, config.retentionMs).get(s.runId);
      expect(run?.jobGroup).toBe(JOB_GROUP);
      const q = new Queue<TrackQueueData>(trackQueueName(s.runId), {
        connection: redis,
        prefix: config.prefix,
      });
      const jobs = await q.getWaiting(0, -1);
      const chunks = jobs.flatMap((j) => (isGroup(j.data) ? j.data.chunks : [j.data]));
      expect(run?.chunks).toBeGreaterThan(3 * JOB_GROUP);
      expect(chunks).toHaveLength(run?.chunks ?? 0);
      expect(jobs.length).toBe(Math.ceil((run?.chunks ?? 0) / JOB_GROUP));
      for (const j of jobs) {
        expect(isGroup(j.data)).toBe(true);
        if (!isGroup(j.data)) continue;
        const n = Math.floor(j.data.chunks[0]!.chunk / JOB_GROUP);
        expect(j.id).toBe(`${s.runId}-g${JOB_GROUP}-${n}`);
        for (const c of j.data.chunks) expect(Math.floor(c.chunk / JOB_GROUP)).toBe(n);
      }
      await q.obliterate({ force: true });
      await q.close();
    } finally {
      redis.disconnect();
    }
  });

  it('retries the chunks of a group that failed, alone: no chunk is applied twice', async () => {
    // 30% of requests answer 500 or 503 (not applied; a 504 might have been); events count every delivery, so a chunk sent twice shows.
    emu.setFaults({ failRate: 0.3, failStatuses: [500, 503], seed: 11 });
    try {
      const values = users(3000).map((u) => ({
        external_id: u.external_id,
        attributes: { score: u.score },
        events: [{ name: 'imported', time: '2025-01-01T00:00:00Z' }],
      }));
      const { summary: s } = await importValues(values);
      expect(s.status).toBe('completed');
      expect(s.objects.accepted).toBe(6000);
      expect(s.requests.retried).toBeGreaterThan(0);
      expect(s.possibleDuplicates).toBe(0);
      expect(checkSummary(s)).toEqual([]);
      const stats = emu.stats();
      // Every object accepted exactly once: no chunk a group had settled went out again.
      expect(stats.objects.accepted).toBe(6000);
      for (const i of [0, 1234, 2999]) {
        const u = emu.getUser(`u${i}`);
        expect(u?.attributes['score']).toBe(i);
        expect(u?.events).toHaveLength(1);
      }
    } finally {
      emu.setFaults({ failRate: 0, failStatuses: [500, 502, 503, 504] });
    }
  });

  it('sends a chunk that waits for another of its own group once that one is done, in file order', async () => {
    // One lane: every chunk holds the same 40 users, so each waits for the one before it, most of
    // them inside their own group. Ten `inc` rows of a user add up and the last value wins.
    const values = Array.from({ length: 40 * 30 }, (_, i) => ({
      external_id: `w${i % 40}`,
      attributes: { round: Math.floor(i / 40), visits: { inc: 1 } },
    }));
    const { summary: s } = await importValues(values, { BRAZE_IMPORT_LANES: '1', BRAZE_MAX_OBJECTS: '40' });
    expect(s.status).toBe('completed');
    expect(s.requests.sent).toBe(30);
    for (const id of ['w0', 'w17', 'w39']) {
      expect(emu.getUser(id)?.attributes).toMatchObject({ round: 29, visits: 30 });
    }
  });

  it('waits out a 429 in a group and sends every chunk once', async () => {
    const limited = await startEmulator({
      port: 0,
      apiKey: 'test-key',
      rateLimits: { track: { limit: 10, windowMs: 1000 } },
    });
    try {
      // The client believes in a higher limit than Braze's: 429s come.
      const { summary: s } = await importValues(
        users(2000),
        { BRAZE_TRACK_RATE_LIMIT: '60/1s' },
        limited.url,
      );
      expect(s.status).toBe('completed');
      expect(s.objects.accepted).toBe(2000);
      expect(s.requests.rateLimited).toBeGreaterThan(0);
      expect(limited.stats().objects.accepted).toBe(2000);
      expect(checkSummary(s)).toEqual([]);
    } finally {
      await limited.close();
    }
  });
});
