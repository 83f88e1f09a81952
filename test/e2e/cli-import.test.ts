import { beforeEach, describe, expect, it } from 'vitest';
import { startEmulator } from '../../src/emulator/index.js';
import { runCli, startCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { writeCsv, writeJsonl } from '../helpers/files.js';

const KEY = 'e2e-key';
const t = useEmulator(KEY);
beforeEach(() => t.emu.reset());

async function deadLetters(e: NodeJS.ProcessEnv, runId: string) {
  const r = await runCli(['dlq', 'export', '--run', runId, '--format', 'jsonl'], e);
  expect(r.code).toBe(0);
  return r.stdout
    .trim()
    .split('\n')
    .filter(Boolean)
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe('braze-import run, end to end', () => {
  it('imports a 50,000-row CSV with ~2% bad rows: profiles as the file says, bad rows dead-lettered by line', async () => {
    const { path, users } = writeCsv(t.dir, 50_000, 11, 0.02);
    const e = t.env();
    const r = await runCli(['run', path, '--json', '--run-id', 'csv50k'], e);
    expect(r.stderr).not.toMatch(/\n\s+at /);
    expect(r.code).toBe(3);
    const s = JSON.parse(r.stdout);
    const bad = users.filter((u) => u.bad);
    expect(bad.length).toBeGreaterThan(700);
    expect(s.status).toBe('completed_with_errors');
    expect(s.rows).toEqual({ read: 50_000, valid: 50_000 - bad.length, rejected: bad.length });
    expect(s.objects).toMatchObject({ accepted: 50_000 - bad.length, failed: 0, notAttempted: 0 });
    expect(s.deadLetters).toBe(bad.length);
    expect(t.emu.stats().rateLimited).toBe(0);
    for (const u of users) {
      if (u.bad) continue;
      const profile = t.emu.getUser(u.externalId);
      expect(profile?.attributes, u.externalId).toEqual(u.attributes);
    }
    const letters = await deadLetters(e, 'csv50k');
    expect(letters.map((l) => l['_source_line']).sort((a, b) => Number(a) - Number(b))).toEqual(
      bad.map((u) => u.index + 2),
    );
    for (const l of letters) expect(typeof l['_error_code']).toBe('string');
  });

  it('imports JSONL with events and purchases', async () => {
    const { path, rows } = writeJsonl(t.dir, 3000, 12, 0.02);
    const r = await runCli(['run', path, '--json'], t.env());
    const s = JSON.parse(r.stdout);
    const good = rows.filter((x) => !x.user.bad);
    expect(s.rows.valid).toBe(good.length);
    expect(s.rows.rejected).toBe(rows.length - good.length);
    expect(s.objects.failed).toBe(0);
    for (const row of good) {
      const p = t.emu.getUser(row.user.externalId);
      expect(p?.attributes).toEqual(row.user.attributes);
      expect(p?.events).toHaveLength(row.events);
      expect(p?.purchases).toHaveLength(row.purchases);
    }
  });

  it('two worker processes and run --enqueue-only drain one run under the rate limit', async () => {
    const limited = await startEmulator({
      port: 0,
      apiKey: KEY,
      rateLimits: { track: { limit: 600, windowMs: 3000 } },
    });
    try {
      const e = t.env({ BRAZE_REST_ENDPOINT: limited.url, BRAZE_TRACK_RATE_LIMIT: '600/3s' });
      const workers = [
        startCli(['worker', '--concurrency', '8'], e),
        startCli(['worker', '--concurrency', '8'], e),
      ];
      const { path, users } = writeCsv(t.dir, 60_000, 13, 0);
      const r = await runCli(['run', path, '--enqueue-only', '--json', '--run-id', 'fleet'], e);
      expect(r.code).toBe(0);
      let status = '';
      for (let i = 0; i < 300 && !status.startsWith('completed'); i++) {
        await new Promise((res) => setTimeout(res, 200));
        status = JSON.parse((await runCli(['status', 'fleet', '--json'], e)).stdout).status;
      }
      for (const w of workers) w.kill('SIGTERM');
      const exits = await Promise.all(workers.map((w) => w.result));
      expect(status).toBe('completed');
      expect(exits.map((x) => x.code)).toEqual([0, 0]);
      const stats = limited.stats();
      expect(stats.objects.accepted).toBe(users.length);
      expect(stats.rateLimited).toBe(0);
      expect(stats.maxTrackRequestsIn3s).toBeLessThanOrEqual(600);
      // The fleet shares the run: each worker sent some of it, and together they sent every chunk.
      // (How close to the limit they get is a speed goal, measured by `npm run bench`, not here.)
      const tallies = exits.map((x) => stoppedTally(x.stderr));
      for (const tally of tallies) expect(tally.chunks).toBeGreaterThan(0);
      expect(tallies[0]!.objectsAccepted + tallies[1]!.objectsAccepted).toBe(users.length);
    } finally {
      await limited.close();
    }
  });

  it('with 5% 5xx and 1% connection resets every valid row is still accepted', async () => {
    t.emu.setFaults({ failRate: 0.05, resetRate: 0.01, seed: 3 });
    try {
      const { path, users } = writeCsv(t.dir, 20_000, 14, 0.01);
      const r = await runCli(['run', path, '--json'], t.env());
      const s = JSON.parse(r.stdout);
      const good = users.filter((u) => !u.bad);
      expect(s.objects).toMatchObject({ accepted: good.length, failed: 0, notAttempted: 0 });
      expect(s.requests.retried).toBeGreaterThan(0);
      for (const u of good) expect(t.emu.getUser(u.externalId)?.attributes).toEqual(u.attributes);
    } finally {
      t.emu.setFaults({ failRate: 0, resetRate: 0 });
    }
  });
});

/** The counts a `braze-import worker` logs when it stops. */
function stoppedTally(stderr: string): { chunks: number; objectsAccepted: number } {
  const line = stderr.split('\n').find((l) => l.includes('"worker stopped"'));
  if (!line) throw new Error(`no "worker stopped" line in: ${stderr.slice(-500)}`);
  return JSON.parse(line);
}
