/**
 * Schedules firing for real: a BullMQ job scheduler with a cron every 2 s, the schedules worker of
 * `braze-import worker` (startScheduleWorker), and a stand-in launcher in place of the sync.
 */
import { appendFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import type { ScheduleDef } from '../../schemas/schedule.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/infra/logger.js';
import type { SyncLauncher, SyncResult, SyncSpec } from '../../src/sync/launcher.js';
import { type ScheduleWorker, startScheduleWorker } from '../../src/sync/schedule-worker.js';
import {
  createScheduleStore,
  createSchedulesQueue,
  type ScheduleState,
  saveSchedule,
} from '../../src/sync/schedules.js';
import { tempDir } from '../helpers/files.js';
import { testRedisUrl, useTestRedis } from '../helpers/redis.js';
import { waitFor } from '../helpers/wait.js';

const { redis, prefix } = useTestRedis('sched');
const dir = tempDir('sched-');
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const closers: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (closers.length > 0) await closers.pop()!();
});

/** Log lines as objects, to assert on what a person running the worker reads. */
function capturedLog() {
  const lines: Array<{ msg: string; schedule?: string; outcome?: string }> = [];
  const destination = new Writable({
    write(chunk, _enc, cb) {
      for (const l of String(chunk).split('\n')) if (l) lines.push(JSON.parse(l));
      cb();
    },
  });
  return { lines, log: createLogger({ destination, format: 'json', level: 'info' }) };
}

function settledFile(name: string, content = 'external_id\nu1\n'): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  const t = (Date.now() - 120_000) / 1000;
  utimesSync(path, t, t);
  return path;
}

/** A schedule firing every 2 s in one test's own prefix and destination, and a worker serving it. */
async function scheduled(
  def: Partial<ScheduleDef> & Pick<ScheduleDef, 'name' | 'source'>,
  launcher: SyncLauncher,
) {
  const p = prefix();
  const destId = 'd0c0ffee0001';
  const store = createScheduleStore(redis(), p, destId);
  const queue = createSchedulesQueue(redis(), p, destId);
  closers.push(() => queue.close());
  await saveSchedule(store, queue, {
    v: 1,
    cron: '*/2 * * * * *',
    tz: 'UTC',
    settleMs: 60_000,
    argv: [],
    destId,
    updatedAt: Date.now(),
    ...def,
  });
  const { lines, log } = capturedLog();
  const config = loadConfig({ BRAZE_IMPORT_PREFIX: p });
  const start = () => startScheduleWorker({ config, log, redisUrl: testRedisUrl(), destId, launcher });
  const workers: ScheduleWorker[] = [await start()];
  closers.push(async () => {
    for (const w of workers) await w.close();
  });
  return {
    store,
    queue,
    lines,
    state: () => store.state(def.name),
    another: async () => workers.push(await start()),
    close: async () => {
      for (const w of workers.splice(0)) await w.close();
    },
  };
}

function recording(result: (spec: SyncSpec, signal: AbortSignal) => Promise<SyncResult>) {
  const calls: SyncSpec[] = [];
  const launcher: SyncLauncher = (spec, signal) => {
    calls.push(spec);
    return result(spec, signal);
  };
  return { calls, launcher };
}

describe('schedules fire in the worker', () => {
  it('a firing runs the sync with the newest file; the next finds no new file', async () => {
    const file = settledFile('fires-1.csv');
    const { calls, launcher } = recording(async () => ({ runId: 'run-1', status: 'completed', exitCode: 0 }));
    const s = await scheduled(
      {
        name: 'fires',
        source: join(dir, 'fires-*.csv'),
        mapping: '/maps/m.json',
        argv: ['--id-column', 'uid'],
      },
      launcher,
    );
    await waitFor(() => calls.length === 1, 10_000);
    expect(calls[0]).toEqual({ name: 'fires', file, argv: ['--id-column', 'uid'], mapping: '/maps/m.json' });
    // A firing records its outcome, then releases its overlap lock: wait for both (reading once the
    // outcome shows could catch the lock in the moment before its release).
    let state: ScheduleState = {};
    await waitFor(async () => {
      state = await s.state();
      return state.last?.outcome === 'no-new-file' && state.lockHolder === undefined;
    }, 10_000);
    expect(state.last?.message).toBe('no new file: the newest match is the one last synced');
    expect(state.run).toMatchObject({ outcome: 'synced', runId: 'run-1', status: 'completed', exitCode: 0 });
    expect(state.synced).toEqual({ path: file, size: statSync(file).size, mtimeMs: statSync(file).mtimeMs });
    expect(state.lockHolder).toBeUndefined();
    expect(calls).toHaveLength(1);
    expect(s.lines.some((l) => l.outcome === 'no-new-file' && l.msg.startsWith('no new file'))).toBe(true);
  });

  it('a firing while the previous run of the same schedule is still going is skipped and recorded', async () => {
    settledFile('overlap-1.csv');
    let finish: (r: SyncResult) => void = () => {};
    const { calls, launcher } = recording(() => new Promise<SyncResult>((resolve) => (finish = resolve)));
    const s = await scheduled({ name: 'overlap', source: join(dir, 'overlap-*.csv') }, launcher);
    await waitFor(() => calls.length === 1, 10_000);
    await waitFor(async () => (await s.state()).last?.outcome === 'skipped', 10_000);
    const state = await s.state();
    expect(state.last?.message).toBe('skipped: previous run of overlap still going');
    expect(state.run?.outcome).toBe('started');
    expect(state.lockHolder).toBeDefined();
    expect(calls).toHaveLength(1);
    expect(s.lines.some((l) => l.msg === 'skipped: previous run of overlap still going')).toBe(true);
    finish({ runId: 'run-2', status: 'completed', exitCode: 0 });
    await waitFor(async () => (await s.state()).run?.outcome === 'synced', 5000);
    expect((await s.state()).lockHolder).toBeUndefined();
  });

  it('a file still growing when the schedule fires is left, and taken at a later firing once settled', async () => {
    const path = join(dir, 'growing-1.csv');
    writeFileSync(path, 'external_id\n');
    const writer = setInterval(() => appendFileSync(path, 'u\n'), 100);
    const { calls, launcher } = recording(async () => ({ status: 'completed', exitCode: 0 }));
    try {
      const s = await scheduled(
        { name: 'growing', source: join(dir, 'growing-*.csv'), settleMs: 1000 },
        launcher,
      );
      await waitFor(async () => (await s.state()).last?.outcome === 'not-ready', 10_000);
      expect((await s.state()).last?.message).toBe('not ready: growing');
      expect(calls).toHaveLength(0);
      clearInterval(writer);
      const finalSize = statSync(path).size;
      await waitFor(() => calls.length === 1, 10_000);
      expect(calls[0]?.file).toBe(path);
      await waitFor(async () => (await s.state()).synced !== undefined, 5000);
      expect((await s.state()).synced?.size).toBe(finalSize);
    } finally {
      clearInterval(writer);
    }
  });

  it('with several workers, each firing runs once', async () => {
    settledFile('once-1.csv');
    // Exit 1: the file is never used up, so every firing starts a sync.
    const { calls, launcher } = recording(async () => ({ status: 'halted', exitCode: 1 }));
    const s = await scheduled({ name: 'once', source: join(dir, 'once-*.csv') }, launcher);
    await s.another();
    await s.another();
    await waitFor(() => calls.length >= 3, 15_000);
    await s.close();
    const fired = await s.queue.getCompletedCount();
    expect(calls.length).toBe(fired);
    expect((await s.state()).run).toMatchObject({ outcome: 'not-synced', status: 'halted', exitCode: 1 });
  });

  it('a stopping worker asks the sync under way to stop, and waits for it', async () => {
    settledFile('stops-1.csv');
    const { calls, launcher } = recording(
      (_spec, signal) =>
        new Promise<SyncResult>((resolve) =>
          signal.addEventListener('abort', () => resolve({ runId: 'r', status: 'interrupted', exitCode: 1 })),
        ),
    );
    const s = await scheduled({ name: 'stops', source: join(dir, 'stops-*.csv') }, launcher);
    await waitFor(() => calls.length === 1, 10_000);
    await s.close();
    const state = await s.state();
    expect(state.run).toMatchObject({ outcome: 'not-synced', status: 'interrupted' });
    expect(state.lockHolder).toBeUndefined();
  });

  it('a launcher that throws is a failed firing, recorded; the file is not remembered', async () => {
    settledFile('throws-1.csv');
    const { calls, launcher } = recording(async () => {
      throw new Error('sync is not built yet');
    });
    const s = await scheduled({ name: 'throws', source: join(dir, 'throws-*.csv') }, launcher);
    await waitFor(() => calls.length === 2, 10_000);
    await s.close();
    const state = await s.state();
    expect(state.last?.outcome).toBe('failed');
    expect(state.last?.message).toMatch(/failed: sync is not built yet$/);
    expect(state.synced).toBeUndefined();
  });
});
