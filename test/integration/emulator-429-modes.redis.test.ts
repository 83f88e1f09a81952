import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import type { Headers429 } from '../../src/emulator/options.js';
import { runImport } from '../../src/import/import.js';
import { checkSummary } from '../../src/runs/summary.js';
import { jsonInput, quietLog, testConfig } from '../helpers/import.js';
import { testRedisUrl } from '../helpers/redis.js';

/**
 * A run against an emulator whose 429s carry only X-Ratelimit-Retry-After (as on the MAU pages),
 * or no header at all: the importer must fall back (Retry-After, else one second), pause, and
 * still deliver every row exactly once, with the 429s counted.
 */

let emu: Emulator | undefined;
afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

const users = Array.from({ length: 300 }, (_, i) => ({ external_id: `u${i}`, n: i }));

describe.each<Headers429>(['retry-after', 'none'])('429s with headers429 = %s', (mode) => {
  it('the run pauses as told (or one second), retries without spending attempts, and completes', async () => {
    emu = await startEmulator({
      port: 0,
      apiKey: 'k',
      headers429: mode,
      faults: { burst429Every: 2, burst429Length: 1, burst429RetryAfterS: 1 },
    });
    // One lane: four chunks of 75, sent one at a time, so the 429s land where the test can count them.
    const config = testConfig({ BRAZE_RETRY_ATTEMPTS: '1', BRAZE_IMPORT_LANES: '1' });
    const started = Date.now();
    const s = await runImport(jsonInput(users, config), {
      config,
      log: quietLog,
      redisUrl: testRedisUrl(),
      braze: { endpoint: emu.url, apiKey: 'k' },
      concurrency: 1,
    });
    expect(s.status).toBe('completed');
    expect(checkSummary(s)).toEqual([]);
    expect(s.objects).toMatchObject({ total: 300, accepted: 300, failed: 0 });
    const stats = emu.stats();
    expect(stats.faults.burst429).toBeGreaterThan(0);
    expect(s.requests.rateLimited).toBe(stats.faults.burst429);
    expect(stats.objects.accepted).toBe(300);
    // Each 429 asked for (or fell back to) a one-second pause.
    expect(Date.now() - started).toBeGreaterThanOrEqual(stats.faults.burst429 * 900);
  });
});
