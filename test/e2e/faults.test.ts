/**
 * Fault injection with real processes, a real redis-server and the emulator over HTTP: 100,000-row
 * imports survive killed workers, a killed producer, a Redis restart and a misbehaving Braze, and
 * afterwards every profile is as the file says, every bad row is a dead letter, the counts add up,
 * and events or purchases arrive twice only within chunks counted in possibleDuplicates.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type PrivateRedis, startPrivateRedis } from '../../src/infra/private-redis.js';
import { checkSummary, type Summary } from '../../src/runs/summary.js';
import { cliEnv, runCli, startCli } from '../helpers/cli.js';
import { tempDir, writeJsonl } from '../helpers/files.js';
import { uniquePrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'fault-key';
const ROWS = 100_000;
let emu: Emulator;
let redis: PrivateRedis;
let file: ReturnType<typeof writeJsonl>;

beforeAll(async () => {
  // Its own redis-server, with AOF, so one case can restart it without touching the other tests.
  redis = await startPrivateRedis({ appendOnly: true });
  emu = await startEmulator({ port: 0, apiKey: KEY });
  file = writeJsonl(tempDir(), ROWS, 41, 0.01);
}, 120_000);
afterAll(async () => {
  await emu.close();
  await redis.stop();
});

function env(extra: Record<string, string> = {}) {
  return cliEnv({
    REDIS_URL: redis.url,
    BRAZE_REST_ENDPOINT: emu.url,
    BRAZE_API_KEY: KEY,
    BRAZE_IMPORT_PREFIX: uniquePrefix('fault'),
    BRAZE_WORKER_LOCK_MS: '2000',
    LOG_LEVEL: 'warn',
    ...extra,
  });
}

const totalObjects = () =>
  file.rows.filter((r) => !r.user.bad).reduce((n, r) => n + 1 + r.events + r.purchases, 0);
const accepted = () => emu.stats().objects.accepted;

async function status(e: NodeJS.ProcessEnv, runId: string): Promise<Summary> {
  return JSON.parse((await runCli(['status', runId, '--json'], e)).stdout) as Summary;
}

/** The outcome every case must end in. */
async function verify(e: NodeJS.ProcessEnv, s: Summary) {
  const bad = file.rows.filter((r) => r.user.bad);
  expect(checkSummary(s)).toEqual([]);
  expect(s.rows).toEqual({ read: ROWS, valid: ROWS - bad.length, rejected: bad.length });
  expect(s.objects).toMatchObject({
    total: totalObjects(),
    accepted: totalObjects(),
    failed: 0,
    notAttempted: 0,
  });
  let extra = 0;
  for (const row of file.rows) {
    if (row.user.bad) continue;
    const p = emu.getUser(row.user.externalId);
    expect(p?.attributes, row.user.externalId).toEqual(row.user.attributes);
    expect(p!.events.length).toBeGreaterThanOrEqual(row.events);
    expect(p!.purchases.length).toBeGreaterThanOrEqual(row.purchases);
    extra += p!.events.length - row.events + p!.purchases.length - row.purchases;
  }
  // A duplicate can only come from a chunk the summary admits may have been sent twice.
  if (s.possibleDuplicates === 0) expect(extra).toBe(0);
  else expect(extra).toBeLessThanOrEqual(s.possibleDuplicates * 75);
  const letters = (await runCli(['dlq', 'export', '--run', s.runId, '--format', 'jsonl'], e)).stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as { _source_line: number });
  expect(letters.map((l) => l._source_line).sort((a, b) => a - b)).toEqual(bad.map((r) => r.user.index + 1));
  return extra;
}

describe('fault injection (real processes)', () => {
  it('(a) workers killed with SIGKILL at three points, each replaced', async () => {
    emu.reset();
    // A slow contract, so the kills land mid-run: at 3,000 per 3 s the gate sends this whole file
    // in the first window's budget, faster than the test can aim.
    const e = env({ BRAZE_TRACK_RATE_LIMIT: '600/3s' });
    let worker = startCli(['worker', '--concurrency', '16'], e);
    const producer = await runCli(['run', file.path, '--enqueue-only', '--run-id', 'fa', '--json'], e);
    expect(producer.code).toBe(0);
    for (const share of [0.2, 0.45, 0.7]) {
      await waitFor(() => accepted() >= totalObjects() * share, 120_000);
      worker.kill('SIGKILL');
      await worker.result;
      worker = startCli(['worker', '--concurrency', '16'], e);
    }
    await waitFor(async () => (await status(e, 'fa')).status.startsWith('completed'), 120_000);
    worker.kill('SIGTERM');
    expect((await worker.result).code).toBe(0);
    await verify(e, await status(e, 'fa'));
  });

  it('(b) the producer killed with SIGKILL mid-file, then run --resume', async () => {
    emu.reset();
    const e = env({ BRAZE_IMPORT_MAX_BACKLOG_MB: '1' });
    const first = startCli(['run', file.path, '--run-id', 'fb', '--json'], e);
    await waitFor(() => accepted() >= totalObjects() * 0.3, 120_000);
    first.kill('SIGKILL');
    await first.result;
    const before = await status(e, 'fb');
    expect(before.rows.read).toBeLessThan(ROWS); // it really died mid-file
    const resumed = await runCli(['run', file.path, '--resume', 'fb', '--json'], e);
    expect(resumed.code, resumed.stderr).toBe(3);
    await verify(e, JSON.parse(resumed.stdout) as Summary);
  });

  it('(c) redis-server restarted (AOF on) in the middle of a run', async () => {
    emu.reset();
    const e = env({ BRAZE_IMPORT_MAX_BACKLOG_MB: '1' });
    const run = startCli(['run', file.path, '--run-id', 'fc', '--json'], e);
    await waitFor(() => accepted() >= totalObjects() * 0.3, 120_000);
    await redis.restart();
    const r = await run.result;
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code, r.stderr.slice(-2000)).toBe(3);
    await verify(e, JSON.parse(r.stdout) as Summary);
  });

  it('(d) Braze misbehaving: 5% 5xx, 1% resets, responses slower than the client timeout, bursts of 429', async () => {
    emu.reset();
    emu.setFaults({
      failRate: 0.05,
      resetRate: 0.01,
      slowRate: 0.005,
      slowMs: 1500,
      burst429Every: 300,
      burst429Length: 5,
      seed: 9,
    });
    try {
      const e = env({ BRAZE_REQUEST_TIMEOUT_MS: '1000', BRAZE_RETRY_BASE_MS: '50' });
      const r = await runCli(['run', file.path, '--run-id', 'fd', '--json'], e);
      expect(r.code).toBe(3);
      const s = JSON.parse(r.stdout) as Summary;
      expect(s.requests.retried).toBeGreaterThan(0);
      expect(s.requests.rateLimited).toBeGreaterThan(0);
      // Slow answers are applied by the emulator after our timeout: exactly the case possibleDuplicates covers.
      expect(s.possibleDuplicates).toBeGreaterThan(0);
      await verify(e, s);
    } finally {
      emu.setFaults({ failRate: 0, resetRate: 0, slowRate: 0, burst429Every: 0 });
    }
  });
}, 600_000);
