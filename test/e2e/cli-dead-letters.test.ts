import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { cliEnv, runCli } from '../helpers/cli.js';
import { tempDir, writeCsv } from '../helpers/files.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';

const KEY = 'dlq-key';
let emu: Emulator;
let dir: string;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: KEY });
  dir = tempDir();
});
afterAll(() => emu.close());

describe('dead letters: inspect, export, replay, purge', () => {
  it('rows given up during an outage are dead letters that replay delivers once Braze is back', async () => {
    const env = cliEnv({
      REDIS_URL: testRedisUrl(),
      BRAZE_REST_ENDPOINT: emu.url,
      BRAZE_API_KEY: KEY,
      BRAZE_IMPORT_PREFIX: uniquePrefix('dlq'),
      BRAZE_RETRY_ATTEMPTS: '2',
      BRAZE_RETRY_BASE_MS: '20',
    });
    const { path, users } = writeCsv(dir, 300, 21, 0.05);
    const bad = users.filter((u) => u.bad);
    emu.setFaults({ failRate: 1, seed: 1 });
    const first = await runCli(['run', path, '--json', '--run-id', 'outage'], env);
    emu.setFaults({ failRate: 0 });
    expect(first.code).toBe(3);
    const s1 = JSON.parse(first.stdout);
    expect(s1.objects).toMatchObject({ accepted: 0, failed: 300 - bad.length, notAttempted: 0 });
    expect(s1.deadLetters).toBe(300);

    const list = await runCli(['dlq', 'list', '--run', 'outage', '--limit', '5'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^line \d+\t(rejected|exhausted)\t/m);
    expect(list.stdout).toContain('300 dead letter(s) in run outage');

    const out = join(dir, 'outage.csv');
    const exp = await runCli(['dlq', 'export', '--run', 'outage', '--out', out], env);
    expect(exp.code).toBe(0);
    const csv = readFileSync(out, 'utf8').trim().split('\n');
    expect(csv[0]).toMatch(/^external_id,.*,_error_code,_error_message,_source_line$/);
    expect(csv).toHaveLength(301);

    const replay = await runCli(['dlq', 'replay', '--run', 'outage', '--json', '--new-run-id', 'again'], env);
    expect(replay.code).toBe(0);
    const s2 = JSON.parse(replay.stdout);
    expect(s2.status).toBe('completed');
    expect(s2.objects.accepted).toBe(300 - bad.length);
    for (const u of users.filter((x) => !x.bad))
      expect(emu.getUser(u.externalId)?.attributes).toEqual(u.attributes);

    const purge = await runCli(['dlq', 'purge', '--run', 'outage'], env);
    expect(purge.code).toBe(0);
    const after = await runCli(['dlq', 'list', '--run', 'outage'], env);
    expect(after.stdout).toContain('0 dead letter(s)');
  });
});
