import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { runImport } from '../../src/import/import.js';
import { checkSummary } from '../../src/runs/summary.js';
import { runStart } from '../helpers/factories.js';
import { jsonInput, quietLog, testConfig } from '../helpers/import.js';
import { testRedisUrl } from '../helpers/redis.js';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: 'test-key' });
});
afterAll(() => emu.close());
beforeEach(() => emu.reset());

const users = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({
    external_id: `u${from + i}`,
    first_name: `N${from + i}`,
    score: from + i,
  }));

async function importValues(values: unknown[], env: Record<string, string> = {}, apiKey = 'test-key') {
  const config = testConfig(env);
  return runImport(jsonInput(values, config), {
    config,
    log: quietLog,
    redisUrl: testRedisUrl(),
    braze: { endpoint: emu.url, apiKey },
    concurrency: 8,
  });
}

describe('runImport against the emulator', () => {
  it('delivers every valid row, rejects the bad ones, and the counts add up', async () => {
    const values = [...users(500), { external_id: '' }, { first_name: 'no id' }, 42];
    const s = await importValues(values);
    expect(s.status).toBe('completed_with_errors');
    expect(s.rows).toEqual({ read: 503, valid: 500, rejected: 3 });
    expect(s.objects).toMatchObject({ total: 500, accepted: 500, failed: 0, notAttempted: 0 });
    // 500 users over 16 lanes, about 31 each: a chunk per lane (with one lane, ceil(500 / 75) = 7).
    expect(s.requests.sent).toBe(16);
    expect(s.deadLetters).toBe(3);
    expect(checkSummary(s)).toEqual([]);
    expect(emu.getUser('u123')?.attributes).toEqual({ first_name: 'N123', score: 123 });
    expect(emu.stats().objects.accepted).toBe(500);
  });

  it('completes cleanly when everything is valid', async () => {
    const s = await importValues(users(80));
    expect(s.status).toBe('completed');
    expect(s.deadLetters).toBe(0);
    expect(checkSummary(s)).toEqual([]);
  });

  it('turns objects Braze refuses into dead letters with their source line', async () => {
    // quantity 101 passes nothing in Braze: the emulator answers 201 with errors[] for that purchase.
    const values = [
      {
        external_id: 'p1',
        purchases: [{ product_id: 'a', currency: 'USD', price: 1, time: '2025-01-01T00:00:00Z' }],
      },
      { external_id: 'p2', attributes: { x: 1 } },
    ];
    const config = testConfig();
    const input = jsonInput(values, config);
    // Send a purchase the emulator refuses by bypassing our own validator for one row.
    const validate = input.validate;
    input.validate = (row) => {
      const r = validate(row);
      if ('purchases' in r && r.purchases) r.purchases = r.purchases.map((p) => ({ ...p, quantity: 101 }));
      return r;
    };
    const s = await runImport(input, {
      config,
      log: quietLog,
      redisUrl: testRedisUrl(),
      braze: { endpoint: emu.url, apiKey: 'test-key' },
      concurrency: 4,
    });
    expect(s.objects).toMatchObject({ total: 2, accepted: 1, failed: 1 });
    expect(s.status).toBe('completed_with_errors');
    expect(checkSummary(s)).toEqual([]);
  });

  it('halts on a wrong API key and says why', async () => {
    const s = await importValues(users(200), {}, 'wrong-key');
    expect(s.status).toBe('halted');
    expect(s.reason).toMatch(/401/);
    expect(s.reason).not.toContain('wrong-key');
    expect(s.objects.accepted).toBe(0);
    expect(checkSummary(s)).toEqual([]);
  });

  it('splits a chunk Braze finds too large and sends the halves', async () => {
    const small = await startEmulator({ port: 0, apiKey: 'test-key', maxObjects: 10 });
    try {
      const config = testConfig();
      const s = await runImport(jsonInput(users(40), config), {
        config,
        log: quietLog,
        redisUrl: testRedisUrl(),
        braze: { endpoint: small.url, apiKey: 'test-key' },
        concurrency: 4,
      });
      expect(s.status).toBe('completed');
      expect(s.objects.accepted).toBe(40);
      expect(small.stats().objects.accepted).toBe(40);
      expect(checkSummary(s)).toEqual([]);
    } finally {
      await small.close();
    }
  });

  it('retries 5xx and connection resets until every row is accepted', async () => {
    emu.setFaults({ failRate: 0.2, resetRate: 0.05, seed: 7 });
    try {
      const s = await importValues(users(1500));
      expect(s.status).toBe('completed');
      expect(s.objects.accepted).toBe(1500);
      expect(s.requests.retried).toBeGreaterThan(0);
      for (const i of [0, 777, 1499]) expect(emu.getUser(`u${i}`)?.attributes['score']).toBe(i);
    } finally {
      emu.setFaults({ failRate: 0, resetRate: 0 });
    }
  });
});

describe('run store: a producer batch sent twice counts once', () => {
  it('applies counts and rejections once per batch number; resume recounts, keeping the furthest reading', async () => {
    const { Redis } = await import('ioredis');
    const { createRunStore } = await import('../../src/runs/store.js');
    const redis = new Redis(testRedisUrl());
    try {
      const runs = createRunStore(redis, testConfig().prefix, 60_000);
      // Its owner is gone (lease lapsed), so a resume may take it over.
      await runs.create('b1', runStart('f', { leaseUntil: 0 }));
      await runs.producerBatch('b1', 0, { rowsRead: 10, rowsRejected: 1 }, [{ line: 4, text: '{"x":1}' }]);
      await runs.producerBatch('b1', 0, { rowsRead: 10, rowsRejected: 1 }, [{ line: 4, text: '{"x":1}' }]);
      await runs.producerBatch('b1', 1, { rowsRead: 5 }, []);
      expect(await runs.get('b1')).toMatchObject({ rowsRead: 15, rowsRejected: 1, deadLetters: 1 });
      expect(await runs.countDeadLetters('b1')).toBe(1);
      expect(await runs.resume('b1', 'next-owner', Date.now() + 10_000, 'local')).toBe('reading');
      // The reading starts over; the earlier one is kept as the furthest so far, with its letter.
      expect(await runs.get('b1')).toMatchObject({
        rowsRead: 0,
        rowsRejected: 0,
        deadLetters: 1,
        status: 'reading',
        best: { rowsRead: 15, rowsRejected: 1 },
      });
      expect(await runs.countDeadLetters('b1')).toBe(1);
      await runs.producerBatch('b1', 0, { rowsRead: 3 }, []);
      // The same rejected line met again by the new reading: counted, not written twice.
      await runs.producerBatch('b1', 1, { rowsRead: 10, rowsRejected: 1 }, [{ line: 4, text: '{"x":1}' }]);
      expect(await runs.get('b1')).toMatchObject({ rowsRead: 13, rowsRejected: 1, deadLetters: 1 });
      expect(await runs.countDeadLetters('b1')).toBe(1);
    } finally {
      redis.disconnect();
    }
  });
});
