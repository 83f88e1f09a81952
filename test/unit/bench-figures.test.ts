import { cpus } from 'node:os';
import { describe, expect, it } from 'vitest';
import type { ImportResult } from '../../bench/import-run.js';
import { readLimit } from '../../bench/scenarios.js';
import { buildSections } from '../../bench/sections.js';
import type { EmulatorStatsView } from '../../src/emulator/index.js';

/** An import as the bench records it; only what the figures read is filled in. */
function imported(over: Partial<ImportResult>, emulator: Partial<EmulatorStatsView>): ImportResult {
  return {
    rows: 1_000_000,
    wallS: 20,
    runCpuS: 20,
    redisCpuS: 4,
    emulatorCpuS: 6,
    peakRssMb: 250,
    workerPeakRssMb: 0,
    redisPeakMb: 8,
    requestsSent: 13_334,
    accepted: 1_000_000,
    gate: undefined,
    ...over,
    emulator: {
      requests: { total: 13_334, track: 13_334, byStatus: {} },
      rateLimited: 0,
      faults: { burst429: 0, failed: 0, resetBeforeApply: 0, resetAfterApply: 0, slow: 0, queued: 0 },
      maxTrackRequestsIn3s: 3000,
      firstTrackAt: 1_000,
      lastTrackAt: 1_000 + 16_000,
      ...emulator,
    } as EmulatorStatsView,
  };
}

const plan = {
  rows: 1_000_000,
  jitterRows: 100_000,
  limit: readLimit('3000/3s'),
  jitterLimit: readLimit('600/3s'),
  only: new Set(['a', 'b', 'c0'] as const),
};

const byId = (sections: ReturnType<typeof buildSections>) =>
  new Map(sections.flatMap((s) => s.figures).map((f) => [f.id, f]));

describe('bench figures', () => {
  it('computes each figure from what was measured and judges it against its goal', () => {
    const figures = byId(
      buildSections(
        {
          a: { ok: true, value: { rows: 1_000_000, rowsPerSec: 150_000, cpuS: 8 }, tookS: 7 },
          b: { ok: true, value: imported({}, {}), tookS: 21 },
          c0: { ok: true, value: imported({}, { rateLimited: 2 }), tookS: 21 },
        },
        plan,
      ),
    );
    expect(figures.get('cpuRatio')).toMatchObject({ value: 3, met: true, shown: '3.00' });
    expect(figures.get('bOverA')?.value).toBeCloseTo(50_000 / 150_000);
    expect(figures.get('bOverA')?.met).toBe(false);
    // 13,332 admitted over 20 s against 1,000/s; 13,331 over the 16 s between first and last.
    expect(figures.get('c0.shareStartToExit')?.value).toBeCloseTo(0.6666);
    expect(figures.get('c0.shareStartToExit')?.met).toBe(false);
    expect(figures.get('c0.shareFirstToLast')).toMatchObject({ met: null });
    expect(figures.get('c0.shareFirstToLast')?.value).toBeCloseTo(13_331 / 16 / 1000);
    expect(figures.get('c0.rateLimited')).toMatchObject({ value: 2, met: false });
    expect(figures.get('c0.busiestWindow')).toMatchObject({ value: 3000, met: true });
    // run 20 + Redis 4 + emulator 6 CPU-s over 20 s on the machine's cores; no goal.
    expect(figures.get('c0.coresBusy')?.value).toBeCloseTo(30 / (cpus().length * 20));
    expect(figures.get('c0.coresBusy')?.met).toBeNull();
    expect(figures.get('b.peakRssMb')).toMatchObject({ value: 250, met: false, shown: '250 MB' });
  });

  it('a scenario that failed or did not run is shown so and counts as not met', () => {
    const figures = byId(buildSections({ b: { ok: false, error: 'exited 1', tookS: 3 } }, plan));
    expect(figures.get('cpuRatio')).toMatchObject({ value: null, shown: 'not run', met: false });
    expect(figures.get('b.peakRssMb')).toMatchObject({ value: null, shown: 'failed: exited 1', met: false });
    expect(figures.get('j.rateLimited')).toMatchObject({ value: null, shown: 'not run', met: false });
    expect(figures.get('d.workerPeakRssMb')).toMatchObject({ value: null, met: null });
  });
});
