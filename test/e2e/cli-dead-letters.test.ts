import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { writeCsv } from '../helpers/files.js';

const KEY = 'dlq-key';
const t = useEmulator(KEY);

describe('dead letters: inspect, export, replay, purge', () => {
  it('rows given up during an outage are dead letters that replay delivers once Braze is back', async () => {
    const env = t.env({ BRAZE_RETRY_ATTEMPTS: '2', BRAZE_RETRY_BASE_MS: '20' });
    const { path, users } = writeCsv(t.dir, 300, 21, 0.05);
    const bad = users.filter((u) => u.bad);
    // 500 and 503 only: answers that say the chunk was not applied (a 504 may have been).
    t.emu.setFaults({ failRate: 1, failStatuses: [500, 503], seed: 1 });
    const first = await runCli(['run', path, '--json', '--run-id', 'outage'], env);
    t.emu.setFaults({ failRate: 0 });
    expect(first.code).toBe(3);
    const s1 = JSON.parse(first.stdout);
    expect(s1.objects).toMatchObject({ accepted: 0, failed: 300 - bad.length, notAttempted: 0 });
    expect(s1.deadLetters).toBe(300);

    const list = await runCli(['dlq', 'list', '--run', 'outage', '--limit', '5'], env);
    expect(list.code).toBe(0);
    expect(list.stdout).toMatch(/^line \d+\t(rejected|exhausted)\t/m);
    expect(list.stdout).toContain('300 dead letter(s) in run outage');

    const out = join(t.dir, 'outage.csv');
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
      expect(t.emu.getUser(u.externalId)?.attributes).toEqual(u.attributes);

    const purge = await runCli(['dlq', 'purge', '--run', 'outage'], env);
    expect(purge.code).toBe(0);
    const after = await runCli(['dlq', 'list', '--run', 'outage'], env);
    expect(after.stdout).toContain('0 dead letter(s)');
  });
});
