/**
 * `braze-import schedule set|list|remove` as a user runs them, and `braze-import worker` firing a
 * schedule: a real sync of the newest complete export into the emulator, then no new file, then the
 * next night's export with only its changes sent.
 */
import { mkdirSync, rmSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { cliEnv, runCli, startCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/files.js';
import { deletePrefix, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const dir = tempDir('cli-schedule-');
const redis = testRedis();
const prefixes: string[] = [];
afterAll(async () => {
  for (const p of prefixes) await deletePrefix(redis, p);
  await redis.quit();
  rmSync(dir, { recursive: true, force: true });
});

const settled = (name: string) => {
  const path = join(dir, name);
  writeFileSync(path, 'external_id\nu1\n');
  const t = (Date.now() - 120_000) / 1000;
  utimesSync(path, t, t);
  return path;
};
settled('users-1.csv');
settled('users-2.csv');

function envFor(prefix: string, key = 'key-a', extra: Record<string, string> = {}) {
  return cliEnv({
    REDIS_URL: testRedisUrl(),
    BRAZE_REST_ENDPOINT: 'http://127.0.0.1:9',
    BRAZE_API_KEY: key,
    BRAZE_IMPORT_PREFIX: prefix,
    ...extra,
  });
}

function fresh(): string {
  const p = uniquePrefix('clisched');
  prefixes.push(p);
  return p;
}

const keysUnder = (prefix: string) => redis.keys(`${prefix}:*`);

interface Listed {
  name: string;
  cron: string;
  tz: string;
  source: string;
  argv: string[];
  next: { utc: string; local: string } | null;
  last: { outcome: string; message: string } | null;
  /** The last firing that started or ended a sync (`last` moves on with every firing). */
  run: { outcome: string; message: string } | null;
}
async function list(env: NodeJS.ProcessEnv): Promise<Listed[]> {
  const r = await runCli(['schedule', 'list', '--json'], env);
  expect(r.code, r.stderr).toBe(0);
  return JSON.parse(r.stdout) as Listed[];
}

describe('schedule set, list, remove', () => {
  it('sets a nightly schedule, lists it with its next firing, removes it', async () => {
    const env = envFor(fresh());
    const set = await runCli(
      [
        'schedule',
        'set',
        'nightly',
        '--cron',
        '0 2 * * *',
        '--tz',
        'europe/berlin',
        '--source',
        'users-*.csv',
        '--',
        '--id-column',
        'external_id',
      ],
      env,
      { cwd: dir },
    );
    expect(set.code, set.stderr).toBe(0);
    expect(set.stdout).toMatch(
      /next {2}\d{4}-\d\d-\d\d 02:00:00 Europe\/Berlin \(\d{4}-\d\d-\d\d 0[01]:00:00 UTC\)/,
    );
    const [listed, ...more] = await list(env);
    expect(more).toEqual([]);
    expect(listed).toMatchObject({
      name: 'nightly',
      cron: '0 2 * * *',
      tz: 'Europe/Berlin',
      source: join(dir, 'users-*.csv'),
      argv: ['--id-column', 'external_id'],
      last: null,
    });
    expect(listed?.next?.local).toMatch(/ 02:00:00$/);
    const text = await runCli(['schedule', 'list'], env);
    expect(text.stdout).toMatch(/^nightly {2}0 2 \* \* \* {2}Europe\/Berlin/);

    const removed = await runCli(['schedule', 'remove', 'nightly'], env);
    expect(removed.code, removed.stderr).toBe(0);
    expect(await list(env)).toEqual([]);
    const again = await runCli(['schedule', 'remove', 'nightly'], env);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toBe('braze-import: no schedule nightly');
  });

  it.each([
    [
      'a bad cron',
      ['--cron', '61 2 * * *', '--tz', 'UTC', '--source', 'users-*.csv'],
      /^braze-import: --cron: /,
    ],
    [
      'a bad time zone',
      ['--cron', '0 2 * * *', '--tz', 'Mars/Base', '--source', 'users-*.csv'],
      /--tz: .*Mars\/Base/,
    ],
    [
      'a glob matching nothing',
      ['--cron', '0 2 * * *', '--tz', 'UTC', '--source', 'none-*.csv'],
      /no file matches/,
    ],
  ])('%s: one line, exit 2, nothing stored', async (_what, flags, message) => {
    const prefix = fresh();
    const r = await runCli(['schedule', 'set', 'nightly', ...flags], envFor(prefix), { cwd: dir });
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(message);
    expect(await keysUnder(prefix)).toEqual([]);
  });

  it('needs REDIS_URL: one line, exit 2', async () => {
    const env = envFor(fresh());
    delete env['REDIS_URL'];
    const r = await runCli(['schedule', 'list'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/REDIS_URL/);
  });
});

describe('braze-import worker fires the schedules of its own destination', () => {
  let emu: Emulator;
  beforeAll(async () => {
    emu = await startEmulator({ port: 0, apiKey: 'key-a', keys: { 'key-b': ['users.track'] } });
  });
  afterAll(() => emu.close());

  it('a schedule every 2 s syncs in the worker with its key, never in a worker with another key', async () => {
    const prefix = fresh();
    const night = join(dir, 'night');
    mkdirSync(night);
    const write = (name: string, rows: string[]) => {
      const path = join(night, name);
      writeFileSync(path, `external_id,plan\n${rows.join('\n')}\n`);
      const t = (Date.now() - 120_000) / 1000;
      utimesSync(path, t, t);
      return path;
    };
    const users = Array.from({ length: 500 }, (_, i) => `u${i},free`);
    const first = write('users-1.csv', users);
    const at = { BRAZE_REST_ENDPOINT: emu.url, LOG_LEVEL: 'info' };
    const env = envFor(prefix, 'key-a', at);
    const set = await runCli(
      [
        'schedule',
        'set',
        'often',
        '--cron',
        '*/2 * * * * *',
        '--tz',
        'UTC',
        '--source',
        join(night, 'users-*.csv'),
      ],
      env,
    );
    expect(set.code, set.stderr).toBe(0);
    const mine = startCli(['worker'], env);
    const other = startCli(['worker'], envFor(prefix, 'key-b', at));
    try {
      // `run`, not `last`: a firing every 2 s may already have said "no new file" by the time a
      // `schedule list` (a CLI start, seconds on a loaded machine) reads the state.
      let synced = '';
      await waitFor(
        async () => {
          const run = (await list(env))[0]?.run;
          if (run?.outcome === 'synced') synced = run.message;
          return synced !== '';
        },
        30_000,
        250,
      );
      expect(synced).toContain(first);
      expect(emu.stats().objects.accepted).toBe(500);
      // The next firing finds nothing new and says so.
      await waitFor(async () => (await list(env))[0]?.last?.outcome === 'no-new-file', 20_000, 250);
      // The next night's export: 5 users changed; only they are sent.
      write(
        'users-2.csv',
        users.map((u, i) => (i % 100 === 7 ? u.replace('free', 'pro') : u)),
      );
      await waitFor(
        async () => {
          const run = (await list(env))[0]?.run;
          return run?.outcome === 'synced' && run.message.includes('users-2.csv');
        },
        30_000,
        250,
      );
      expect(emu.stats().objects.accepted).toBe(505);
      expect(emu.getUser('u7')?.attributes).toEqual({ plan: 'pro' });
    } finally {
      mine.kill('SIGTERM');
      other.kill('SIGTERM');
    }
    const [a, b] = await Promise.all([mine.result, other.result]);
    expect(a.code, a.stderr).toBe(0);
    expect(b.code, b.stderr).toBe(0);
    expect(a.stderr).toContain('"schedule":"often"');
    expect(b.stderr).not.toContain('"schedule"');
  }, 120_000);
});
