/**
 * One Redis, two Braze workspaces (two emulators with different keys): a run's rows reach only its
 * own workspace, whatever runs, halts, resumes, cancels and fleet workers come after it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { checkSummary, type Summary } from '../../src/runs/summary.js';
import { cliEnv, runCli, startCli } from '../helpers/cli.js';
import { tempDir, writeJsonl } from '../helpers/files.js';
import { testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

let a: Emulator;
let b: Emulator;
let dir: string;
// One prefix for the whole file: every run below shares one Redis namespace, as users' runs would.
const prefix = uniquePrefix('iso');

beforeAll(async () => {
  // Workspace A is slow (600 requests per 3 s), so that runs into it can be stopped halfway. It
  // also knows a rotated key, key-a2, with the same permission.
  a = await startEmulator({
    port: 0,
    apiKey: 'key-a',
    keys: { 'key-a2': ['users.track'] },
    rateLimits: { track: { limit: 600, windowMs: 3000 } },
  });
  b = await startEmulator({ port: 0, apiKey: 'key-b' });
  dir = tempDir();
});
afterAll(async () => {
  await a.close();
  await b.close();
});

const env = (emu: Emulator, key: string, extra: Record<string, string> = {}) =>
  cliEnv({
    REDIS_URL: testRedisUrl(),
    BRAZE_REST_ENDPOINT: emu.url,
    BRAZE_API_KEY: key,
    BRAZE_IMPORT_PREFIX: prefix,
    BRAZE_TRACK_RATE_LIMIT: emu === a ? '600/3s' : '3000/3s',
    LOG_LEVEL: 'warn',
    ...extra,
  });

const objectsOf = (rows: ReturnType<typeof writeJsonl>['rows']) =>
  rows.reduce((n, r) => n + 1 + r.events + r.purchases, 0);

/** How many of these rows' users the emulator holds. */
const holds = (emu: Emulator, rows: ReturnType<typeof writeJsonl>['rows']) =>
  rows.filter((r) => emu.getUser(r.user.externalId) !== undefined).length;

async function status(e: NodeJS.ProcessEnv, runId: string) {
  const r = await runCli(['status', runId, '--json'], e);
  return JSON.parse(r.stdout) as Summary;
}

/** Starts a run into A and stops it with Ctrl-C once some of it has been accepted. */
async function interruptedRunIntoA(runId: string, rows: number, seed: number) {
  const file = writeJsonl(dir, rows, seed, 0);
  const before = a.stats().objects.accepted;
  const child = startCli(['run', file.path, '--run-id', runId, '--json'], env(a, 'key-a'));
  await waitFor(() => a.stats().objects.accepted > before + 1500);
  child.kill('SIGINT');
  const r = await child.result;
  expect(r.code, r.stderr).toBe(1);
  const s = JSON.parse(r.stdout) as Summary;
  expect(s.status).toBe('interrupted');
  expect(s.objects.notAttempted).toBeGreaterThan(0);
  return { file, summary: s };
}

describe('a run sends only to its own workspace', () => {
  it('an interrupted run into A is not sent by a run into B; resumed, all of it reaches A', async () => {
    const { file: fileA } = await interruptedRunIntoA('iso-a', 20_000, 61);
    const parked = await status(env(a, 'key-a'), 'iso-a');
    expect(parked.parked?.chunks).toBeGreaterThan(0);
    const inA = a.stats().objects.accepted;

    const fileB = writeJsonl(dir, 3000, 62, 0);
    const runB = await runCli(['run', fileB.path, '--json'], env(b, 'key-b'));
    expect(runB.code, runB.stderr).toBe(0);
    const sB = JSON.parse(runB.stdout) as Summary;
    expect(checkSummary(sB)).toEqual([]);
    // B holds exactly B's rows; nothing of A's run went to B, and A got nothing more meanwhile.
    expect(b.stats().objects.accepted).toBe(objectsOf(fileB.rows));
    expect(holds(b, fileB.rows)).toBe(3000);
    expect(holds(b, fileA.rows)).toBe(0);
    expect(a.stats().objects.accepted).toBe(inA);

    const resumed = await runCli(['run', fileA.path, '--resume', 'iso-a', '--json'], env(a, 'key-a'));
    expect(resumed.code, resumed.stderr).toBe(0);
    const sA = JSON.parse(resumed.stdout) as Summary;
    expect(sA.status).toBe('completed');
    expect(checkSummary(sA)).toEqual([]);
    expect(holds(a, fileA.rows)).toBe(20_000);
    for (const row of fileA.rows.slice(0, 2000))
      expect(a.getUser(row.user.externalId)?.attributes).toEqual(row.user.attributes);
    expect(holds(b, fileA.rows)).toBe(0);
    expect(b.stats().objects.accepted).toBe(objectsOf(fileB.rows));
  });

  it('resuming with another key or endpoint is refused; --new-key moves a run to a rotated key', async () => {
    const { file, summary } = await interruptedRunIntoA('iso-key', 8000, 63);
    const other = await runCli(['run', file.path, '--resume', 'iso-key'], env(b, 'key-b'));
    expect(other.code).toBe(2);
    expect(other.stderr).toMatch(/sends to http:\/\/127\.0\.0\.1:\d+, key fingerprint \w{8}, not to/);
    expect(other.stderr.trim().split('\n')).toHaveLength(1);
    const rotated = env(a, 'key-a2');
    const refused = await runCli(['run', file.path, '--resume', 'iso-key'], rotated);
    expect(refused.code).toBe(2);
    const fp = /started with another API key \(.*; this one is (\w{8})\); .*pass --new-key/.exec(
      refused.stderr,
    )?.[1];
    expect(fp).toBeDefined();
    expect(summary.destination).not.toContain(fp);
    // --new-key records the new key's fingerprint for the run and sends the rest with that key.
    const moved = await runCli(['run', file.path, '--resume', 'iso-key', '--new-key', '--json'], rotated);
    expect(moved.code, `${moved.stderr}\n${moved.stdout}`).toBe(0);
    const s = JSON.parse(moved.stdout) as Summary;
    expect(s.status).toBe('completed');
    expect(s.destination).toBe(`${a.url}, key fingerprint ${fp}`);
    expect(holds(a, file.rows)).toBe(8000);
    expect(holds(b, file.rows)).toBe(0);
  });

  it("a halted run's chunks are not sent by the next run, nor by fleet workers", async () => {
    const fileC = writeJsonl(dir, 2000, 64, 0);
    const halted = await runCli(['run', fileC.path, '--run-id', 'iso-halt', '--json'], env(a, 'wrong-key'));
    expect(halted.code).toBe(1);
    const sC = JSON.parse(halted.stdout) as Summary;
    expect(sC.status).toBe('halted');
    expect(sC.reason).toMatch(/401/);
    // Logged once, not once per chunk that met the same answer.
    expect(halted.stderr.match(/Braze answered 401/g) ?? []).toHaveLength(1);
    expect((await status(env(a, 'key-a'), 'iso-halt')).parked?.chunks).toBeGreaterThan(0);

    const worker = startCli(['worker', '--concurrency', '8'], env(a, 'key-a'));
    try {
      const fileD = writeJsonl(dir, 500, 65, 0);
      const next = await runCli(['run', fileD.path, '--json'], env(a, 'key-a'));
      expect(next.code, next.stderr).toBe(0);
      await new Promise((r) => setTimeout(r, 2000));
      expect(holds(a, fileD.rows)).toBe(500);
      expect(holds(a, fileC.rows)).toBe(0);
      expect(holds(b, fileC.rows)).toBe(0);
    } finally {
      worker.kill('SIGTERM');
      expect((await worker.result).code).toBe(0);
    }
  });

  it('a halt that stops every job of a run still counts their chunks parked, and cancel counts them dropped', async () => {
    // 600 rows, 1,200 objects: 24 chunks over 16 lanes in three queued jobs, which the sender takes
    // at once (it fetches more), so the halt finds them active and fails them: none is waiting.
    const file = writeJsonl(dir, 600, 68, 0);
    const halted = await runCli(
      ['run', file.path, '--run-id', 'iso-halt-all', '--json'],
      env(a, 'wrong-key'),
    );
    expect(halted.code).toBe(1);
    const s = JSON.parse(halted.stdout) as Summary;
    expect(s.status).toBe('halted');
    expect(s.objects.accepted).toBe(0);
    expect(s.objects.notAttempted).toBe(1200);
    expect((await status(env(a, 'key-a'), 'iso-halt-all')).parked?.chunks).toBe(24);
    const cancelled = await runCli(['cancel', 'iso-halt-all'], env(a, 'key-a'));
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toMatch(
      /Cancelled: 24 queued chunk\(s\) dropped; 1200 object\(s\) not attempted/,
    );
    expect(holds(a, file.rows)).toBe(0);
  });

  it('fleet workers send only the runs of their own destination', async () => {
    const fileF = writeJsonl(dir, 1500, 66, 0);
    const enq = await runCli(
      ['run', fileF.path, '--enqueue-only', '--run-id', 'iso-fleet', '--json'],
      env(a, 'key-a'),
    );
    expect(enq.code, enq.stderr).toBe(0);
    // A worker for workspace B, and one for A's endpoint with another key: neither may touch it.
    const wrong = [
      startCli(['worker', '--concurrency', '8'], env(b, 'key-b')),
      startCli(['worker', '--concurrency', '8'], env(a, 'key-other')),
    ];
    try {
      await new Promise((r) => setTimeout(r, 2500));
      expect(holds(a, fileF.rows) + holds(b, fileF.rows)).toBe(0);
      expect((await status(env(a, 'key-a'), 'iso-fleet')).objects.accepted).toBe(0);
      const right = startCli(['worker', '--concurrency', '8'], env(a, 'key-a'));
      try {
        await waitFor(async () => (await status(env(a, 'key-a'), 'iso-fleet')).status === 'completed');
      } finally {
        right.kill('SIGTERM');
        expect((await right.result).code).toBe(0);
      }
      expect(holds(a, fileF.rows)).toBe(1500);
      expect(holds(b, fileF.rows)).toBe(0);
    } finally {
      for (const w of wrong) w.kill('SIGTERM');
      for (const w of wrong) expect((await w.result).code).toBe(0);
    }
  });

  it('cancel drops what a stopped run parked: nobody sends it, and it is counted as not attempted', async () => {
    const { file } = await interruptedRunIntoA('iso-cancel', 12_000, 67);
    const inA = holds(a, file.rows);
    const cancelled = await runCli(['cancel', 'iso-cancel'], env(a, 'key-a'));
    expect(cancelled.code, cancelled.stderr).toBe(0);
    expect(cancelled.stdout).toMatch(/\(cancelled\)/);
    expect(cancelled.stdout).toMatch(
      /Cancelled: \d+ queued chunk\(s\) dropped; \d+ object\(s\) not attempted/,
    );
    const s = await status(env(a, 'key-a'), 'iso-cancel');
    expect(s.status).toBe('cancelled');
    expect(checkSummary(s)).toEqual([]);
    expect(s.objects.notAttempted).toBeGreaterThan(0);
    expect(s.parked).toBeUndefined();
    // Nothing of its queue is left in Redis.
    const redis = testRedis();
    try {
      const [, keys] = await redis.scan('0', 'MATCH', `${prefix}:track.iso-cancel:*`, 'COUNT', 10_000);
      expect(keys).toEqual([]);
    } finally {
      redis.disconnect();
    }
    const resume = await runCli(['run', file.path, '--resume', 'iso-cancel'], env(a, 'key-a'));
    expect(resume.code).toBe(2);
    expect(resume.stderr).toMatch(/was cancelled/);
    const worker = startCli(['worker'], env(a, 'key-a'));
    await new Promise((r) => setTimeout(r, 1500));
    worker.kill('SIGTERM');
    await worker.result;
    expect(holds(a, file.rows)).toBe(inA);

    const unknown = await runCli(['cancel', 'no-such-run'], env(a, 'key-a'));
    expect(unknown.code).toBe(2);
    expect(unknown.stderr.trim().split('\n')).toHaveLength(1);
  });
});
