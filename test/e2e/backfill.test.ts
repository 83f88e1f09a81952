/**
 * A backfill and a sync to one workspace at once, as a user starts them: `braze-import backfill` of a
 * large file, and while it sends, `braze-import sync`. Through a recording proxy: together they never
 * pass the limit, and while the sync sends the backfill keeps to its share of it.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import type { Summary } from '../../src/runs/summary.js';
import { cliEnv, runCli, startCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/files.js';
import { type Recorded, startRecordingProxy } from '../helpers/recording-proxy.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { threadNiceness } from '../helpers/threads.js';
import { waitFor } from '../helpers/wait.js';
import { maxInWindow } from '../helpers/windows.js';

const KEY = 'bf-key';
const LIMIT = { max: 40, windowMs: 1000 };
let emu: Emulator;
let proxy: Awaited<ReturnType<typeof startRecordingProxy>>;
let dir: string;

beforeAll(async () => {
  emu = await startEmulator({
    port: 0,
    apiKey: KEY,
    rateLimits: { track: { limit: LIMIT.max, windowMs: LIMIT.windowMs } },
  });
  proxy = await startRecordingProxy(() => emu.url);
  dir = tempDir('bi-backfill-');
});
afterAll(async () => {
  await proxy.close();
  await emu.close();
});

function users(path: string, prefix: string, n: number): string {
  const lines = ['external_id,plan,score'];
  for (let i = 0; i < n; i++) lines.push(`${prefix}-${i},pro,${i % 97}`);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** The users a request carried start with this prefix. */
const holds = (r: Recorded, prefix: string) =>
  ((r.body as { attributes?: Array<{ external_id: string }> }).attributes ?? []).some((a) =>
    a.external_id.startsWith(prefix),
  );

describe('backfill during a sync', () => {
  it('keeps to its share while the sync sends; together they stay under the limit', async () => {
    const env = cliEnv({
      REDIS_URL: testRedisUrl(),
      BRAZE_REST_ENDPOINT: proxy.url,
      BRAZE_API_KEY: KEY,
      BRAZE_IMPORT_PREFIX: uniquePrefix('bf'),
      BRAZE_TRACK_RATE_LIMIT: `${LIMIT.max}/1s`,
      LOG_LEVEL: 'warn',
    });
    const big = users(join(dir, 'backfill.csv'), 'bf', 24_000); // 320 requests: 8 s at the limit
    const snapshot = users(join(dir, 'snapshot.csv'), 'sy', 3_000); // 40 requests
    const backfill = startCli(['backfill', big, '--json', '--share', '50%'], env);
    backfill.stdin?.end();
    // The sync starts once the backfill is under way.
    await waitFor(async () => proxy.requests.filter((r) => holds(r, 'bf-')).length > 40, 60_000, 50);
    // The backfill yields the CPU: every thread of it (the sender thread, V8's) runs at nice 10.
    if (process.platform === 'linux') {
      const nice = threadNiceness(backfill.pid ?? 0);
      expect(nice.length).toBeGreaterThan(3);
      expect(new Set(nice)).toEqual(new Set([10]));
    }
    const sync = await runCli(['sync', snapshot, '--json'], env, { timeoutMs: 120_000 });
    expect(sync.code, sync.stderr).toBe(0);
    const done = await backfill.result;
    expect(done.code, done.stderr).toBe(0);
    expect((JSON.parse(done.stdout) as Summary).objects.accepted).toBe(24_000);
    expect((JSON.parse(sync.stdout) as Summary).objects.accepted).toBe(3_000);

    const track = proxy.requests.filter((r) => r.path.endsWith('/users/track'));
    expect(track.filter((r) => r.status === 429)).toEqual([]);
    expect(
      maxInWindow(
        track.map((r) => r.at),
        LIMIT.windowMs,
      ),
    ).toBeLessThanOrEqual(LIMIT.max);
    const syncTimes = track.filter((r) => holds(r, 'sy-')).map((r) => r.at);
    const [from, to] = [Math.min(...syncTimes), Math.max(...syncTimes)];
    const during = track.filter((r) => holds(r, 'bf-') && r.at >= from && r.at <= to).map((r) => r.at);
    // Half of 40 in any window while the sync sends (its first take marks the group as syncing).
    expect(maxInWindow(during, LIMIT.windowMs)).toBeLessThanOrEqual(LIMIT.max / 2);
  }, 180_000);

  it('stopped, says how to resume it as a backfill; resumed, sends the rest', async () => {
    const env = cliEnv({
      REDIS_URL: testRedisUrl(),
      BRAZE_REST_ENDPOINT: emu.url,
      BRAZE_API_KEY: KEY,
      BRAZE_IMPORT_PREFIX: uniquePrefix('bfr'),
      BRAZE_TRACK_RATE_LIMIT: `${LIMIT.max}/1s`,
      LOG_LEVEL: 'warn',
    });
    await emu.reset();
    const file = users(join(dir, 'resume.csv'), 'rs', 9_000); // 120 requests: 3 s at the limit
    const child = startCli(['backfill', file, '--run-id', 'bf-stopped'], env);
    child.stdin?.end();
    await waitFor(async () => emu.stats().requests.total >= 10, 60_000, 20);
    child.kill('SIGINT');
    const stopped = await child.result;
    expect(stopped.code, stopped.stderr).toBe(1);
    expect(stopped.stdout).toContain(`Continue with: braze-import backfill ${file} --resume bf-stopped`);
    const resumed = await runCli(['backfill', file, '--resume', 'bf-stopped', '--json'], env, {
      timeoutMs: 120_000,
    });
    expect(resumed.code, resumed.stderr).toBe(0);
    const summary = JSON.parse(resumed.stdout) as Summary;
    expect(summary).toMatchObject({ kind: 'backfill', status: 'completed' });
    expect(summary.objects.accepted).toBe(9_000);
    expect(emu.stats().objects.accepted).toBe(9_000);
  }, 180_000);

  it('through /users/track/bulk: 1,000-object requests, /users/track untouched', async () => {
    const env = cliEnv({
      REDIS_URL: testRedisUrl(),
      BRAZE_REST_ENDPOINT: emu.url,
      BRAZE_API_KEY: KEY,
      BRAZE_IMPORT_PREFIX: uniquePrefix('bulk'),
      LOG_LEVEL: 'warn',
    });
    await emu.reset();
    const file = users(join(dir, 'bulk.csv'), 'bk', 20_000);
    const r = await runCli(['backfill', file, '--json', '--endpoint', 'bulk'], env, { timeoutMs: 120_000 });
    expect(r.code, r.stderr).toBe(0);
    expect((JSON.parse(r.stdout) as Summary).objects.accepted).toBe(20_000);
    const stats = emu.stats();
    const bulk = stats.endpoints['/users/track/bulk']!;
    expect(stats.endpoints['/users/track']!.requests).toBe(0);
    expect(bulk.objects.maxPerRequest).toBe(1000);
    // Users are spread over 16 lanes: each lane's last request is partial, every other one full.
    expect(bulk.requests).toBeLessThanOrEqual(20 + 16);
    expect(bulk.objects.accepted).toBe(20_000);
  }, 180_000);
});
