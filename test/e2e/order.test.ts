/**
 * Braze ends with the file applied in order: users repeated across many chunks and ten times in a
 * row, with no fault, with 15% 5xx, with resets after Braze applied a chunk, and with two worker
 * processes. Every profile is compared with the file's rows applied in order by the same rules.
 */
import { describe, expect, it } from 'vitest';
import { checkSummary, type Summary } from '../../src/runs/summary.js';
import { runCli, startCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { type OrderingFile, profilesInOrder, writeOrderingFile } from '../helpers/ordering.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'order-key';
const t = useEmulator(KEY);

function expectFileOrder(file: OrderingFile) {
  const expected = profilesInOrder(file.rows);
  let stale = 0;
  for (const id of file.ids) {
    const got = t.emu.getUser(id)?.attributes;
    if (JSON.stringify(got) !== JSON.stringify(expected.get(id))) stale++;
  }
  expect(stale, `${stale} of ${file.ids.length} users differ from the file applied in order`).toBe(0);
  for (const id of file.ids.slice(0, 50)) expect(t.emu.getUser(id)?.attributes).toEqual(expected.get(id));
}

async function importFile(file: OrderingFile, env: NodeJS.ProcessEnv, args: string[] = []) {
  const r = await runCli(['run', file.path, '--json', ...args], env);
  expect(r.code, r.stderr).toBe(0);
  const s = JSON.parse(r.stdout) as Summary;
  expect(checkSummary(s)).toEqual([]);
  expect(s.objects.accepted).toBe(file.rows.length);
  return s;
}

describe('order: the last row wins, inc adds up, merges merge', () => {
  it('with no fault: users repeated far apart and ten times in a row', async () => {
    t.emu.reset();
    const file = writeOrderingFile(t.dir, 'clean.jsonl', { seed: 1, users: 1000, reps: 4, inc: true });
    await importFile(file, t.env());
    expectFileOrder(file);
    // Ten inc rows in a row add ten (plus one per round).
    const hot = file.rows[1000]!.external_id;
    const visits = (t.emu.getUser(hot)?.attributes as { visits?: number } | undefined)?.visits;
    expect(visits).toBe(file.rows.filter((r) => r.external_id === hot).length);
  });

  it('with Braze answering 15% of requests with a 5xx', async () => {
    t.emu.reset();
    t.emu.setFaults({ failRate: 0.15, failStatuses: [500, 502, 503], seed: 11 });
    try {
      const file = writeOrderingFile(t.dir, 'fivexx.jsonl', { seed: 2, users: 800, reps: 4, inc: true });
      const s = await importFile(file, t.env({ BRAZE_RETRY_BASE_MS: '20', BRAZE_RETRY_ATTEMPTS: '12' }));
      expect(s.requests.retried).toBeGreaterThan(0);
      expectFileOrder(file);
    } finally {
      t.emu.setFaults({ failRate: 0 });
    }
  });

  it('with connection resets after Braze applied the chunk (values re-sent are the same values)', async () => {
    t.emu.reset();
    t.emu.setFaults({ resetRate: 0.1, resetMode: 'after', seed: 12 });
    try {
      // No inc: an increment delivered twice is a duplicate (counted), not an order problem.
      const file = writeOrderingFile(t.dir, 'resets.jsonl', { seed: 3, users: 800, reps: 4, inc: false });
      const s = await importFile(file, t.env({ BRAZE_RETRY_BASE_MS: '20', BRAZE_RETRY_ATTEMPTS: '12' }));
      expect(s.possibleDuplicates).toBeGreaterThan(0);
      expectFileOrder(file);
    } finally {
      t.emu.setFaults({ resetRate: 0 });
    }
  });

  it('with two worker processes sending one run', async () => {
    t.emu.reset();
    t.emu.setFaults({ failRate: 0.1, failStatuses: [503], seed: 13 });
    const env = t.env({ BRAZE_RETRY_BASE_MS: '20', BRAZE_RETRY_ATTEMPTS: '12' });
    const workers = [
      startCli(['worker', '--concurrency', '16'], env),
      startCli(['worker', '--concurrency', '16'], env),
    ];
    try {
      const file = writeOrderingFile(t.dir, 'fleet.jsonl', { seed: 4, users: 800, reps: 4, inc: true });
      const enq = await runCli(['run', file.path, '--enqueue-only', '--run-id', 'ord-fleet'], env);
      expect(enq.code, enq.stderr).toBe(0);
      await waitFor(async () => {
        const s = await runCli(['status', 'ord-fleet', '--json'], env);
        return (JSON.parse(s.stdout) as Summary).status === 'completed';
      }, 60_000);
      expectFileOrder(file);
    } finally {
      t.emu.setFaults({ failRate: 0 });
      for (const w of workers) w.kill('SIGTERM');
      for (const w of workers) await w.result;
    }
  });
});

describe('replays never write an older value over a newer one', () => {
  it('letters of rows that failed are replayed after newer rows of the same users were accepted', async () => {
    t.emu.reset();
    // One attempt per chunk: a third of the chunks fail for good, while later chunks of the same
    // users get through.
    t.emu.setFaults({ failRate: 0.3, failStatuses: [500, 503], seed: 21 });
    const env = t.env({ BRAZE_RETRY_ATTEMPTS: '1' });
    const file = writeOrderingFile(t.dir, 'replay.jsonl', { seed: 5, users: 600, reps: 4, inc: true });
    let first: Summary;
    try {
      const r = await runCli(['run', file.path, '--json', '--run-id', 'ord-replay'], env);
      expect(r.code, r.stderr).toBe(3);
      first = JSON.parse(r.stdout) as Summary;
    } finally {
      t.emu.setFaults({ failRate: 0 });
    }
    expect(first.objects.failed).toBeGreaterThan(100);

    const replay = await runCli(['dlq', 'replay', '--run', 'ord-replay', '--json'], env);
    expect(replay.code, replay.stderr).toBe(0);
    expect(replay.stderr).toMatch(
      /newer rows of the run had written since: \d+ letter\(s\) not replayed, \d+ attribute\(s\) left out/,
    );
    const last = new Map<string, Record<string, unknown>>();
    const rowsOf = new Map<string, number>();
    for (const row of file.rows) {
      last.set(row.external_id, row.attributes);
      rowsOf.set(row.external_id, (rowsOf.get(row.external_id) ?? 0) + 1);
    }
    let regressed = 0;
    for (const id of file.ids) {
      const p = t.emu.getUser(id)?.attributes as Record<string, unknown> | undefined;
      // Plain values: the newest row's, whether it got through at once or by the replay.
      if (p?.['v'] !== last.get(id)?.['v'] || p?.['level'] !== last.get(id)?.['level']) regressed++;
      // Increments add up whatever order they arrived in.
      expect(p?.['visits'], id).toBe(rowsOf.get(id));
    }
    expect(regressed, `${regressed} users went back to an older value`).toBe(0);
  });
});
