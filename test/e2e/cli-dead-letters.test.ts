import { spawnSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BIN, runCli } from '../helpers/cli.js';
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

    // A reader that goes away early (`| head`): the export stops quietly, no stack trace.
    const piped = spawnSync(
      'sh',
      ['-c', `'${BIN}' dlq export --run outage --format jsonl | head -c 100 > /dev/null`],
      { env, encoding: 'utf8' },
    );
    expect(piped.status).toBe(0);
    expect(piped.stderr).toBe('');

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

describe('replays are runs too', () => {
  it('letters that may already be in Braze are marked; replay re-sends their attributes only, once, and says so', async () => {
    t.emu.reset();
    const env = t.env({ BRAZE_RETRY_ATTEMPTS: '2', BRAZE_RETRY_BASE_MS: '20' });
    const path = join(t.dir, 'maybe.jsonl');
    const row = {
      external_id: 'maybe-1',
      attributes: { plan: 'gold' },
      events: [{ name: 'paid', time: '2024-01-01T00:00:00Z' }],
    };
    writeFileSync(path, `${JSON.stringify(row)}\n`);
    // Both attempts reach Braze, and both answers are lost.
    t.emu.setFaults({ script: ['reset-after', 'reset-after'] });
    const first = await runCli(['run', path, '--json', '--run-id', 'lost'], env);
    expect(first.code).toBe(3);
    const s1 = JSON.parse(first.stdout);
    expect(s1).toMatchObject({ possibleDuplicates: 1, objects: { failed: 2 } });
    expect(t.emu.getUser('maybe-1')?.events).toHaveLength(2);

    const list = await runCli(['dlq', 'list', '--run', 'lost'], env);
    expect(list.stdout.match(/\(may already be in Braze\)/g)).toHaveLength(2);
    const exported = await runCli(['dlq', 'export', '--run', 'lost', '--format', 'jsonl'], env);
    const lines = exported.stdout
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines.every((l) => l._maybe_delivered === true)).toBe(true);

    const replay = await runCli(
      ['dlq', 'replay', '--run', 'lost', '--json', '--new-run-id', 'lost-again'],
      env,
    );
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stderr).toMatch(
      /1 event\/purchase letter\(s\) may already be in Braze and were not replayed/,
    );
    const s2 = JSON.parse(replay.stdout);
    expect(s2).toMatchObject({ replayOf: 'lost', objects: { accepted: 1 } });
    expect(t.emu.getUser('maybe-1')?.events).toHaveLength(2); // not a third time
    const original = await runCli(['status', 'lost'], env);
    expect(original.stdout).toMatch(/^Replayed by\s+lost-again$/m);

    const again = await runCli(['dlq', 'replay', '--run', 'lost'], env);
    expect(again.code).toBe(2);
    expect(again.stderr.trim()).toMatch(
      /^braze-import: the dead letters of lost were replayed by run lost-again \(completed\); pass --force to send them again$/,
    );
    const forced = await runCli(
      ['dlq', 'replay', '--run', 'lost', '--force', '--include-maybe-delivered', '--json'],
      env,
    );
    expect(forced.code, forced.stderr).toBe(0);
    expect(JSON.parse(forced.stdout).objects.accepted).toBe(2);
    expect(t.emu.getUser('maybe-1')?.events).toHaveLength(3); // asked for explicitly
  });
});
