/**
 * A sync stopped half-way (Ctrl-C) is not resumed: the next sync sends exactly what Braze did not
 * accept, and the stopped one leaves nothing parked.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { Summary } from '../../src/runs/summary.js';
import { runCli, startCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'stop-key';
const e2e = useEmulator(KEY, { rateLimits: { track: { limit: 60, windowMs: 1000 } } });

describe('a stopped sync', () => {
  it('is finished by the next sync: every user accepted once, nothing parked', async () => {
    const env = e2e.env({
      LOG_LEVEL: 'warn',
      BRAZE_TRACK_RATE_LIMIT: '60/1s',
      BRAZE_IMPORT_MAX_BACKLOG_MB: '1',
    });
    const lines = ['external_id,plan'];
    for (let i = 0; i < 30_000; i++) lines.push(`user-${i},pro`);
    const file = join(e2e.dir, 'users.csv');
    writeFileSync(file, `${lines.join('\n')}\n`);
    const child = startCli(['sync', file, '--json'], env);
    child.stdin?.end();
    await waitFor(() => e2e.emu.stats().objects.accepted > 3000, 60_000, 50);
    child.kill('SIGINT');
    const stopped = await child.result;
    expect(stopped.code, stopped.stderr).toBe(1);
    const first = JSON.parse(stopped.stdout) as Summary;
    expect(first.status).toBe('interrupted');
    expect(first.reason).toMatch(/run the sync again/);
    const status = await runCli(['status', first.runId, '--json'], env);
    expect((JSON.parse(status.stdout) as Summary).parked?.chunks ?? 0).toBe(0);
    const acceptedFirst = e2e.emu.stats().objects.accepted;
    expect(acceptedFirst).toBe(first.objects.accepted);

    const again = await runCli(['sync', file, '--json'], env, { timeoutMs: 180_000 });
    expect(again.code, again.stderr).toBe(0);
    const second = JSON.parse(again.stdout) as Summary;
    expect(second.sync!.usersUnchanged).toBe(acceptedFirst);
    expect(second.sync!.usersNew).toBe(30_000 - acceptedFirst);
    expect(e2e.emu.stats().objects.accepted).toBe(30_000);
    expect(e2e.emu.stats().users).toBe(30_000);
  }, 240_000);
});
