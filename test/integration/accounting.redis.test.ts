/**
 * Counting when Braze's answers are lost: one chunk, an exact sequence of outcomes from the
 * emulator, and the summary compared with what the emulator recorded.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { readDeadLetters } from '../../src/dead-letter/export.js';
import type { ScriptedFault } from '../../src/emulator/faults.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { runImport } from '../../src/import/import.js';
import { createRunStore } from '../../src/runs/store.js';
import { checkSummary } from '../../src/runs/summary.js';
import { jsonInput, quietLog, testConfig } from '../helpers/import.js';
import { testRedis, testRedisUrl } from '../helpers/redis.js';

let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: 'acct-key' });
});
afterAll(() => emu.close());
beforeEach(() => emu.reset());

const ROW = {
  external_id: 'ada',
  attributes: { plan: 'gold' },
  events: [
    { name: 'signed_up', time: '2024-01-01T00:00:00Z' },
    { name: 'opened', time: '2024-01-02T00:00:00Z' },
  ],
  purchases: [{ product_id: 'p1', currency: 'USD', price: 9.5, time: '2024-01-03T00:00:00Z' }],
};

/** One chunk of 4 objects, imported while the emulator answers the first requests as scripted. */
async function importWith(script: ScriptedFault[], attempts = 8) {
  emu.setFaults({ script });
  const config = testConfig({ BRAZE_RETRY_ATTEMPTS: String(attempts), BRAZE_RETRY_BASE_MS: '10' });
  const summary = await runImport(jsonInput([ROW], config), {
    config,
    log: quietLog,
    redisUrl: testRedisUrl(),
    braze: { endpoint: emu.url, apiKey: 'acct-key' },
    concurrency: 2,
  });
  expect(checkSummary(summary)).toEqual([]);
  const redis = testRedis();
  try {
    const runs = createRunStore(redis, config.prefix, config.retentionMs);
    const letters = [];
    for await (const dl of readDeadLetters(runs, summary.runId)) letters.push(dl);
    const user = emu.getUser('ada');
    return { summary, letters, events: user?.events.length ?? 0, purchases: user?.purchases.length ?? 0 };
  } finally {
    redis.disconnect();
  }
}

describe('possible duplicates and dead letters when answers are lost', () => {
  it('a 500 then a success: delivered once, nothing counted', async () => {
    const r = await importWith([500, 'ok']);
    expect(r).toMatchObject({ events: 2, purchases: 1, letters: [] });
    expect(r.summary.possibleDuplicates).toBe(0);
    expect(r.summary.objects.accepted).toBe(4);
  });

  it('a reset after Braze applied it, then a 500, then a success: delivered twice, counted once', async () => {
    const r = await importWith(['reset-after', 500, 'ok']);
    expect(r.events).toBe(4); // the emulator applied the chunk twice
    expect(r.purchases).toBe(2);
    expect(r.summary.possibleDuplicates).toBe(1);
    // Three requests: the reset and the 500 each lead to a retry.
    expect(r.summary.requests).toMatchObject({ sent: 3, retried: 2 });
    expect(r.summary.status).toBe('completed');
    expect(r.letters).toEqual([]);
  });

  it('a reset after Braze applied it, then a 429, then a success: delivered twice, counted once', async () => {
    const r = await importWith(['reset-after', '429', 'ok']);
    expect(r.events).toBe(4);
    expect(r.summary.possibleDuplicates).toBe(1);
    expect(r.summary.requests.rateLimited).toBe(1);
    expect(r.summary.status).toBe('completed');
  });

  it('a reset before Braze read it, then a success: counted (we cannot tell), delivered once', async () => {
    const r = await importWith(['reset-before', 'ok']);
    expect(r.events).toBe(2);
    expect(r.summary.possibleDuplicates).toBe(1);
  });

  it('retries exhausted after resets that Braze applied: dead letters that say they may be in Braze', async () => {
    const r = await importWith(['reset-after', 'reset-after'], 2);
    expect(r.events).toBe(4); // applied by both attempts
    expect(r.summary.status).toBe('completed_with_errors');
    expect(r.summary.objects).toMatchObject({ total: 4, accepted: 0, failed: 4 });
    expect(r.summary.possibleDuplicates).toBe(1);
    expect(r.letters).toHaveLength(4);
    for (const dl of r.letters) {
      expect(dl.stage).toBe('exhausted');
      expect(dl.maybeDelivered).toBe(true);
    }
  });

  it('retries exhausted on answers that say nothing was applied: plain dead letters', async () => {
    const r = await importWith([500, 503], 2);
    expect(r.events).toBe(0);
    expect(r.summary.possibleDuplicates).toBe(0);
    expect(r.letters).toHaveLength(4);
    for (const dl of r.letters) expect(dl.maybeDelivered).toBeUndefined();
  });
});
