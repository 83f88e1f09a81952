/**
 * What issue 10's pure pieces do once wired into the CLI: the dry run counts what a run counts
 * (records too large for any body, data points as billed), both report external_ids that collide
 * after normalisation, and a replay reads rejected rows as the original run did.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Summary } from '../../src/runs/summary.js';
import { runCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { writeJsonl } from '../helpers/files.js';

const KEY = 'exact-key';
const t = useEmulator(KEY);

describe('the dry run counts what the run counts', () => {
  it('a record too large for any request body is a rejected row in both', async () => {
    const attributes = Object.fromEntries(Array.from({ length: 250_000 }, (_, i) => [`attribute_${i}`, 1]));
    const path = join(t.dir, 'huge.jsonl');
    writeFileSync(
      path,
      `${JSON.stringify({ external_id: 'big', attributes })}\n${JSON.stringify({ external_id: 'small', attributes: { a: 1 } })}\n`,
    );
    const dry = await runCli(['run', path, '--dry-run', '--json'], t.env());
    const d = JSON.parse(dry.stdout);
    expect(d.rows).toEqual({ read: 2, valid: 1, rejected: 1 });
    expect(d.rejects[0]).toMatchObject({ line: 1, code: 'object_too_large' });
    expect(d.estimatedDataPoints).toBe(1);
    t.emu.reset();
    const real = await runCli(['run', path, '--json'], t.env());
    const s = JSON.parse(real.stdout) as Summary;
    expect(s.rows).toEqual(d.rows);
    expect(s.estimatedDataPoints).toBe(d.estimatedDataPoints);
  });

  it("the dry run's data points are what the emulator bills for the run", async () => {
    const { path } = writeJsonl(t.dir, 3000, 91, 0.02);
    const dry = JSON.parse((await runCli(['run', path, '--dry-run', '--json'], t.env())).stdout);
    t.emu.reset();
    const real = JSON.parse((await runCli(['run', path, '--json'], t.env())).stdout) as Summary;
    expect(dry.estimatedDataPoints).toBeGreaterThan(3000);
    expect(real.estimatedDataPoints).toBe(dry.estimatedDataPoints);
    expect(t.emu.stats().dataPoints).toBe(dry.estimatedDataPoints);
  });
});

describe('external_ids that collide after normalisation', () => {
  it('are reported by the dry run and the run summary, with their lines', async () => {
    const path = join(t.dir, 'collide.csv');
    const ids = ['José', 'Jose\u0301', 'u1', ' u1 ', 'USER-1', 'user-1', 'ok'];
    writeFileSync(path, `external_id,plan\n${ids.map((id) => `"${id}",gold`).join('\n')}\n`);
    const dry = await runCli(['run', path, '--dry-run'], t.env());
    expect(dry.stdout).toMatch(
      /3 row\(s\) have an external_id that differs from an earlier one .*\(3 group\(s\)\)/,
    );
    expect(dry.stdout).toMatch(/line 3 "Jose\u0301" ~ line 2/);
    const real = await runCli(['run', path], t.env());
    expect(real.stdout).toMatch(/3 row\(s\) have an external_id that differs from an earlier one/);
    const json = JSON.parse((await runCli(['run', path, '--json', '--force'], t.env())).stdout) as Summary;
    expect(json.idCollisions).toMatchObject({ collidingRows: 3, groups: 3 });
  });
});

describe('replaying rejected rows', () => {
  it("reads them with the original run's id column, so a row comes back with its real reason", async () => {
    const path = join(t.dir, 'keyed.csv');
    writeFileSync(path, `user_id,bio\nu1,short\nu2,${'x'.repeat(300)}\nu3,fine\n`);
    const e = t.env();
    const first = await runCli(['run', path, '--id-column', 'user_id', '--json', '--run-id', 'keyed'], e);
    expect(first.code, first.stderr).toBe(3);
    expect(JSON.parse(first.stdout).rows).toEqual({ read: 3, valid: 2, rejected: 1 });
    const [letter] = (await runCli(['dlq', 'list', '--run', 'keyed', '--json'], e)).stdout.trim().split('\n');
    const code = JSON.parse(letter!).code as string;
    expect(code).not.toBe('missing_external_id');
    // No --id-column: the replay reads the row as the run did, and it is rejected for what it is.
    const replay = await runCli(['dlq', 'replay', '--run', 'keyed', '--include-rejected', '--json'], e);
    const s = JSON.parse(replay.stdout) as Summary;
    expect(s.rows).toEqual({ read: 1, valid: 0, rejected: 1 });
    const again = (await runCli(['dlq', 'list', '--run', s.runId, '--json'], e)).stdout.trim();
    expect(JSON.parse(again).code).toBe(code);
  });
});
