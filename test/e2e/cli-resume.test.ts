import { describe, expect, it } from 'vitest';
import { checkSummary } from '../../src/runs/summary.js';
import { runCli, startCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { writeJsonl } from '../helpers/files.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'resume-key';
// A slow Braze (600 requests per 3 s), and a client that knows it, so a run is still going when we interrupt it.
const t = useEmulator(KEY, { rateLimits: { track: { limit: 600, windowMs: 3000 } } });
const SLOW = { BRAZE_TRACK_RATE_LIMIT: '600/3s' };

/**
 * Starts `run`, sends Ctrl-C once `ready` holds, and checks what every interrupted run must say:
 * exit 1, status `interrupted`, and a summary whose counts add up.
 */
async function interruptRun(args: string[], e: NodeJS.ProcessEnv, ready: () => boolean) {
  const child = startCli(['run', ...args, '--json'], e);
  await waitFor(async () => ready());
  child.kill('SIGINT');
  const r = await child.result;
  expect(r.code).toBe(1);
  const s = JSON.parse(r.stdout);
  expect(s.status).toBe('interrupted');
  expect(checkSummary(s)).toEqual([]);
  return { r, s };
}

describe('idempotent re-runs and resume', () => {
  it('running the same file twice sends nothing the second time and says why; --force sends again', async () => {
    t.emu.reset();
    const e = t.env(SLOW);
    const { path } = writeJsonl(t.dir, 500, 31, 0);
    const first = await runCli(['run', path, '--json'], e);
    expect(first.code).toBe(0);
    const sent = t.emu.stats().requests.total;
    const second = await runCli(['run', path], e);
    expect(second.code).toBe(0);
    expect(second.stdout).toMatch(/Already imported as run run-[\w-]+ \(completed\); nothing was sent/);
    expect(t.emu.stats().requests.total).toBe(sent);
    const forced = await runCli(['run', path, '--force', '--json'], e);
    expect(JSON.parse(forced.stdout).objects.accepted).toBe(JSON.parse(first.stdout).objects.accepted);
  });

  it('Ctrl-C stops reading, finishes requests in flight and records an honest interrupted run; --resume finishes it once', async () => {
    t.emu.reset();
    const e = t.env(SLOW);
    const { path, rows } = writeJsonl(t.dir, 12_000, 32, 0);
    const { s } = await interruptRun(
      [path, '--run-id', 'ctrlc'],
      e,
      () => t.emu.stats().objects.accepted > 2000,
    );
    expect(s.objects.accepted).toBeGreaterThan(0);
    expect(s.objects.accepted + s.objects.failed + s.objects.notAttempted).toBe(s.objects.total);
    expect(s.possibleDuplicates).toBe(0);
    // What the summary says was accepted is what Braze has.
    expect(t.emu.stats().objects.accepted).toBe(s.objects.accepted);

    const resumed = await runCli(['run', path, '--resume', 'ctrlc', '--json'], e);
    expect(resumed.code).toBe(0);
    const s2 = JSON.parse(resumed.stdout);
    expect(s2.status).toBe('completed');
    expect(s2.rows.read).toBe(12_000);
    expect(checkSummary(s2)).toEqual([]);
    // Every row once: attributes as written, and no event or purchase twice.
    for (const row of rows) {
      const p = t.emu.getUser(row.user.externalId);
      expect(p?.attributes).toEqual(row.user.attributes);
      expect(p?.events).toHaveLength(row.events);
      expect(p?.purchases).toHaveLength(row.purchases);
    }
    const again = await runCli(['run', path, '--resume', 'ctrlc'], e);
    expect(again.code).toBe(2);
    expect(again.stderr).toMatch(/already completed/);
  });

  it('Ctrl-C while chunks wait for their send time: they go back to the queue unsent, and the run stops at once', async () => {
    t.emu.reset();
    // One request a minute: the first chunk leaves at once, the others (more than ten) wait at the gate.
    const e = t.env({ BRAZE_TRACK_RATE_LIMIT: '1/1m' });
    const { path } = writeJsonl(t.dir, 1500, 33, 0);
    // Exit 1, not the forced exit (130) that waiting out the gate would have run into.
    const { r, s } = await interruptRun(
      [path, '--run-id', 'gate-wait'],
      e,
      () => t.emu.stats().requests.total >= 1,
    );
    expect(s.requests.sent).toBe(1);
    expect(s.objects.accepted).toBe(t.emu.stats().objects.accepted);
    expect(s.objects.notAttempted).toBe(s.objects.total - s.objects.accepted);
    expect(s.objects.notAttempted).toBeGreaterThan(0);
    expect(t.emu.stats().requests.total).toBe(1);
    expect(s.requests.sent).toBeLessThan(Math.ceil(s.objects.total / 75) - 10);
    // Many chunks waiting on one shutdown signal is expected, not a listener leak to warn about.
    expect(r.stderr).not.toMatch(/Warning/);
  });
});
