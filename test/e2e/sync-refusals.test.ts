/**
 * A sync refuses what would do harm, before anything is sent: a snapshot whose columns changed, a
 * snapshot much smaller than the last under --unset-missing (a truncated export must not wipe a
 * workspace), a gzip that ends early. Each: one line, exit 2, no request, the record as it was.
 */
import { randomBytes } from 'node:crypto';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { CliResult } from '../helpers/cli.js';
import { runCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { testRedisUrl } from '../helpers/redis.js';

const KEY = 'refusal-key';
const e2e = useEmulator(KEY);
let redis: Redis;
let env: NodeJS.ProcessEnv;
let prefix: string;

beforeAll(() => {
  redis = new Redis(testRedisUrl());
  env = e2e.env({ LOG_LEVEL: 'warn' });
  prefix = String(env['BRAZE_IMPORT_PREFIX']);
});
afterAll(() => redis.quit());

function snapshot(name: string, n: number, header = 'external_id,plan,note', cell = () => 'x'): string {
  const lines = [header];
  for (let i = 0; i < n; i++)
    lines.push(`user-${i},pro,${cell()}${header.split(',').length > 3 ? ',1' : ''}`);
  const path = join(e2e.dir, name);
  writeFileSync(path, `${lines.join('\n')}\n`);
  return path;
}

/** Every value of the record: each user's slots (its mark left out) and the meta but its mark counter. */
async function recordValues(): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:sync:*`, 'COUNT', 1000);
    cursor = next;
    for (const key of keys) {
      if (key.endsWith(':lock')) continue;
      const h = await redis.hgetallBuffer(key);
      for (const [field, value] of Object.entries(h)) {
        if (key.endsWith(':meta')) {
          if (field !== 'marks') out[`${key}/${field}`] = value.toString();
        } else out[`${key}/${field}`] = value.subarray(4).toString('hex');
      }
    }
  } while (cursor !== '0');
  return out;
}

function refused(r: CliResult, pattern: RegExp): void {
  expect(r.code, r.stderr).toBe(2);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(pattern);
  expect(r.stderr).not.toMatch(/^\s+at /m);
}

describe('sync refusals', () => {
  let before: Record<string, string>;
  let requests: number;

  beforeAll(async () => {
    const first = await runCli(['sync', snapshot('night-1.csv', 2000), '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    before = await recordValues();
    expect(Object.keys(before).length).toBeGreaterThan(2000);
  }, 120_000);

  const unchanged = async () => {
    expect(await recordValues()).toEqual(before);
    expect(e2e.emu.stats().requests.total).toBe(requests);
  };
  const mark = () => {
    requests = e2e.emu.stats().requests.total;
  };

  it('a snapshot whose columns changed', async () => {
    mark();
    const file = snapshot('night-2.csv', 2000, 'external_id,plan,note,score');
    refused(await runCli(['sync', file], env), /columns changed .*added score/);
    await unchanged();
  });

  it('a truncated snapshot under --unset-missing', async () => {
    mark();
    const file = snapshot('night-3.csv', 1500);
    refused(await runCli(['sync', file, '--unset-missing'], env), /has 1500 rows, the last sync .* had 2000/);
    await unchanged();
  });

  it('a snapshot that would unset more than --max-unset of the known users', async () => {
    mark();
    // 1,700 of 2,000 rows: not far fewer rows (85%), but 15% of users would be unset.
    const file = snapshot('night-4.csv', 1700);
    refused(await runCli(['sync', file, '--unset-missing'], env), /would unset 300 of 2000 known users/);
    await unchanged();
  });

  it('a glob that matches nothing', async () => {
    mark();
    refused(await runCli(['sync', join(e2e.dir, 'exports-*.csv')], env), /no file matches .*exports-\*\.csv/);
    await unchanged();
  });

  it('a gzip that ends early', async () => {
    mark();
    // Random cells: the compressed file is far larger than what the reader peeks at first.
    const plain = snapshot('night-5.csv', 20_000, 'external_id,plan,note', () =>
      randomBytes(12).toString('hex'),
    );
    const gz = gzipSync(await import('node:fs').then((fs) => fs.readFileSync(plain)));
    const path = join(e2e.dir, 'night-5.csv.gz');
    writeFileSync(path, gz.subarray(0, Math.floor(gz.length * 0.7)));
    refused(await runCli(['sync', path], env), /gzip data is truncated or corrupt/);
    await unchanged();
  });
});
