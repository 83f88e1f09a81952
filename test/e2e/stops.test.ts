/**
 * Stopping a run or a worker, gently or not: what is recorded, what is counted, and that a forced
 * stop ends the process whatever Redis and Braze are doing.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { type PrivateRedis, startPrivateRedis } from '../../src/infra/private-redis.js';
import { checkSummary, type Summary } from '../../src/runs/summary.js';
import { cliEnv, runCli, startCli } from '../helpers/cli.js';
import { tempDir, writeJsonl } from '../helpers/files.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'stops-key';
let emu: Emulator;
let dir: string;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: KEY });
  dir = tempDir();
});
afterAll(() => emu.close());

const env = (extra: Record<string, string> = {}) =>
  cliEnv({
    REDIS_URL: testRedisUrl(),
    BRAZE_REST_ENDPOINT: emu.url,
    BRAZE_API_KEY: KEY,
    BRAZE_IMPORT_PREFIX: uniquePrefix('stop'),
    LOG_LEVEL: 'warn',
    ...extra,
  });

type Rows = ReturnType<typeof writeJsonl>['rows'];
const objectsOf = (rows: Rows) => rows.reduce((n, r) => n + 1 + r.events + r.purchases, 0);

async function status(e: NodeJS.ProcessEnv, runId: string): Promise<Summary> {
  return JSON.parse((await runCli(['status', runId, '--json'], e)).stdout) as Summary;
}

/** Every row's attributes as written; events and purchases extra only within counted chunks. */
function verifyDelivered(rows: Rows, s: Summary): number {
  let extra = 0;
  for (const row of rows) {
    const p = emu.getUser(row.user.externalId);
    expect(p?.attributes, row.user.externalId).toEqual(row.user.attributes);
    extra += p!.events.length - row.events + p!.purchases.length - row.purchases;
  }
  expect(extra).toBeGreaterThanOrEqual(0);
  if (s.possibleDuplicates === 0) expect(extra).toBe(0);
  else expect(extra).toBeLessThanOrEqual(s.possibleDuplicates * 75);
  return extra;
}

describe('Ctrl-C while reading', () => {
  it('counts the rows of the chunk still open as not attempted: every valid row read is in a bucket', async () => {
    emu.reset();
    // A slow contract and a small backlog: reading waits for sending, so the signal lands mid-file.
    const e = env({ BRAZE_TRACK_RATE_LIMIT: '600/3s', BRAZE_IMPORT_MAX_BACKLOG_MB: '1' });
    const { path, rows } = writeJsonl(dir, 40_000, 71, 0);
    const child = startCli(['run', path, '--run-id', 'open-chunk', '--json'], e);
    await waitFor(() => emu.stats().objects.accepted > 3000);
    child.kill('SIGINT');
    const r = await child.result;
    expect(r.code, r.stderr).toBe(1);
    const s = JSON.parse(r.stdout) as Summary;
    expect(s.status).toBe('interrupted');
    expect(s.rows.read).toBeLessThan(40_000);
    expect(checkSummary(s)).toEqual([]);
    // The objects of exactly the rows read: queued, or still in the open chunk, and none lost.
    expect(s.objects.total).toBe(objectsOf(rows.slice(0, s.rows.read)));
    expect(s.objects.accepted).toBe(emu.stats().objects.accepted);
    expect(s.objects.notAttempted).toBe(s.objects.total - s.objects.accepted);
  });
});

describe('forced stops (a second signal)', () => {
  it('while reading: the run is recorded interrupted, its duration stops, and resume counts what may be twice', async () => {
    emu.reset();
    // Answers take 1 s, so the first signal's drain is still waiting when the second comes.
    emu.setFaults({ latencyMs: 1000 });
    const e = env({ BRAZE_TRACK_RATE_LIMIT: '600/3s', BRAZE_IMPORT_MAX_BACKLOG_MB: '1' });
    const { path, rows } = writeJsonl(dir, 30_000, 72, 0);
    const child = startCli(['run', path, '--run-id', 'force-read', '--json'], e);
    await waitFor(() => emu.stats().objects.accepted > 2000);
    child.kill('SIGINT');
    // Two signals sent at once may arrive as one: the second comes a moment later.
    await new Promise((r) => setTimeout(r, 200));
    child.kill('SIGINT');
    const r = await child.result;
    emu.setFaults({ latencyMs: 0 });
    expect(r.code).toBe(130);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    const s1 = await status(e, 'force-read');
    expect(s1.status).toBe('interrupted');
    expect(s1.rows.read).toBeLessThan(30_000);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await status(e, 'force-read')).durationMs).toBe(s1.durationMs);

    const resumed = await runCli(['run', path, '--resume', 'force-read', '--json'], e);
    expect(resumed.code, resumed.stderr).toBe(0);
    const s = JSON.parse(resumed.stdout) as Summary;
    expect(checkSummary(s)).toEqual([]);
    expect(s.objects.accepted).toBe(objectsOf(rows));
    verifyDelivered(rows, s);
  });

  it('while requests are in flight: each one Braze received without our seeing the answer is a possible duplicate', async () => {
    emu.reset();
    // Braze answers after 1.5 s: when the second signal comes, requests are on their way.
    emu.setFaults({ latencyMs: 1500 });
    try {
      const e = env();
      const { path, rows } = writeJsonl(dir, 6000, 73, 0);
      const child = startCli(['run', path, '--run-id', 'force-send', '--concurrency', '16', '--json'], e);
      await waitFor(() => emu.stats().requests.total >= 16);
      child.kill('SIGINT');
      await new Promise((r) => setTimeout(r, 200));
      child.kill('SIGINT');
      const r = await child.result;
      expect(r.code).toBe(130);
      const stopped = await status(e, 'force-send');
      expect(stopped.status).toBe('interrupted');
      expect(stopped.reason).toMatch(/forced stop/);
      emu.setFaults({ latencyMs: 0 });
      const resumed = await runCli(['run', path, '--resume', 'force-send', '--json'], e);
      expect(resumed.code, resumed.stderr).toBe(0);
      const s = JSON.parse(resumed.stdout) as Summary;
      expect(checkSummary(s)).toEqual([]);
      // Requests Braze received whose answers we never recorded: what the forced stop cut off.
      const unrecorded = emu.stats().requests.total - s.requests.sent;
      expect(unrecorded).toBeGreaterThan(0);
      expect(s.possibleDuplicates).toBeGreaterThanOrEqual(unrecorded);
      expect(s.possibleDuplicates).toBeLessThanOrEqual(unrecorded + 16);
      const extra = verifyDelivered(rows, s);
      expect(extra).toBeGreaterThan(0); // the emulator applied those chunks twice, as Braze would
    } finally {
      emu.setFaults({ latencyMs: 0 });
    }
  });

  it('kill -9: status shows the run interrupted (abandoned) with a duration that stops; resume takes it at once', async () => {
    emu.reset();
    const e = env({ BRAZE_TRACK_RATE_LIMIT: '600/3s' });
    const { path, rows } = writeJsonl(dir, 12_000, 74, 0);
    const child = startCli(['run', path, '--run-id', 'killed', '--json'], e);
    await waitFor(() => emu.stats().objects.accepted > 2000);
    child.kill('SIGKILL');
    await child.result;
    const s1 = await status(e, 'killed');
    expect(s1).toMatchObject({ status: 'interrupted', abandoned: true });
    expect(s1.reason).toMatch(/abandoned/);
    expect(s1.parked?.chunks).toBeGreaterThan(0);
    await new Promise((r) => setTimeout(r, 1100));
    expect((await status(e, 'killed')).durationMs).toBe(s1.durationMs);
    const text = await runCli(['status', 'killed'], e);
    expect(text.stdout).toMatch(/^Parked\s+\d+ chunk\(s\) queued and sent by nobody/m);

    const resumed = await runCli(['run', path, '--resume', 'killed', '--json'], e);
    expect(resumed.code, resumed.stderr).toBe(0);
    const s = JSON.parse(resumed.stdout) as Summary;
    expect(s.objects.accepted).toBe(objectsOf(rows));
    verifyDelivered(rows, s);
  });
});

describe('a worker whose Redis dies while it drains', () => {
  let redis: PrivateRedis;
  beforeAll(async () => {
    redis = await startPrivateRedis();
  });
  afterAll(async () => {
    await redis.stop();
  });

  async function drainingWorker(shutdownMs: string) {
    await redis.restart();
    emu.reset();
    emu.setFaults({ latencyMs: 2000 });
    const e = cliEnv({
      REDIS_URL: redis.url,
      BRAZE_REST_ENDPOINT: emu.url,
      BRAZE_API_KEY: KEY,
      BRAZE_IMPORT_PREFIX: uniquePrefix('drain'),
      BRAZE_IMPORT_SHUTDOWN_MS: shutdownMs,
      LOG_LEVEL: 'info',
    });
    const { path } = writeJsonl(dir, 3000, 75, 0);
    const worker = startCli(['worker', '--concurrency', '8'], e);
    const enq = await runCli(['run', path, '--enqueue-only', '--json'], e);
    expect(enq.code, enq.stderr).toBe(0);
    await waitFor(() => emu.stats().requests.total >= 8);
    return worker;
  }

  it('exits by the deadline after SIGTERM', async () => {
    const worker = await drainingWorker('1500');
    try {
      const signalled = Date.now();
      worker.kill('SIGTERM');
      redis.kill();
      const r = await worker.result;
      const tookMs = Date.now() - signalled;
      expect(r.code).toBe(130);
      expect(r.stderr.match(/forcing shutdown/g)).toHaveLength(1);
      expect(r.stderr).toMatch(/"why":"deadline"/);
      // Reported, not asserted against a clock: the deadline plus the 2 s a forced stop may take.
      console.log(`worker exit after SIGTERM with Redis gone: ${tookMs} ms (deadline 1500 ms)`);
    } finally {
      emu.setFaults({ latencyMs: 0 });
      worker.kill('SIGKILL');
    }
  });

  it('exits at once on a second signal', async () => {
    const worker = await drainingWorker('600000');
    try {
      worker.kill('SIGTERM');
      redis.kill();
      await new Promise((r) => setTimeout(r, 300));
      const signalled = Date.now();
      worker.kill('SIGTERM');
      const r = await worker.result;
      expect(r.code).toBe(130);
      expect(r.stderr).toMatch(/"why":"second-signal"/);
      console.log(`worker exit after a second SIGTERM with Redis gone: ${Date.now() - signalled} ms`);
    } finally {
      emu.setFaults({ latencyMs: 0 });
      worker.kill('SIGKILL');
    }
  });
});

describe('a resumed run stopped again, sooner than the first time', () => {
  it('shows the furthest reading, so what was sent never exceeds what was read; letters are never doubled', async () => {
    emu.reset();
    const e = env({ BRAZE_TRACK_RATE_LIMIT: '600/3s', BRAZE_IMPORT_MAX_BACKLOG_MB: '1' });
    const { path, rows } = writeJsonl(dir, 30_000, 76, 0.02);
    const bad = rows.filter((r) => r.user.bad).length;
    const first = startCli(['run', path, '--run-id', 'twice', '--json'], e);
    await waitFor(() => emu.stats().objects.accepted > 8000);
    first.kill('SIGINT');
    const s1 = JSON.parse((await first.result).stdout) as Summary;
    expect(s1.status).toBe('interrupted');

    const sentBefore = emu.stats().requests.total;
    const second = startCli(['run', path, '--resume', 'twice', '--json'], e);
    // Stopped as soon as it sends (the parked chunks go first), long before it reads as far again.
    await waitFor(() => emu.stats().requests.total > sentBefore, 30_000, 5);
    second.kill('SIGINT');
    const s2 = JSON.parse((await second.result).stdout) as Summary;
    expect(s2.status).toBe('interrupted');
    expect(checkSummary(s2)).toEqual([]);
    expect(s2.objects.accepted).toBeLessThanOrEqual(s2.objects.total);
    expect(s2.rows.read).toBeGreaterThanOrEqual(s1.rows.read);
    const listed = await runCli(['dlq', 'list', '--run', 'twice', '--limit', '100000'], e);
    expect(listed.stdout).toContain(`${s2.deadLetters} dead letter(s) in run twice`);

    const third = await runCli(['run', path, '--resume', 'twice', '--json'], e);
    expect(third.code, third.stderr).toBe(3);
    const s3 = JSON.parse(third.stdout) as Summary;
    expect(checkSummary(s3)).toEqual([]);
    expect(s3.rows).toEqual({ read: 30_000, valid: 30_000 - bad, rejected: bad });
    expect(s3.deadLetters).toBe(bad);
    const again = await runCli(['dlq', 'list', '--run', 'twice', '--limit', '100000'], e);
    expect(again.stdout).toContain(`${bad} dead letter(s) in run twice`);
  });
});
