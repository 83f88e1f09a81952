import { describe, expect, it } from 'vitest';
import { parseDuration } from '../../schemas/config.js';
import { canonicalTimeZone, clockIn, cronProblem, nextFiring } from '../../src/sync/cron.js';
import {
  decide,
  type FileIdentity,
  isMarker,
  markerPath,
  newest,
  type PickFacts,
  parseReadyMarker,
} from '../../src/sync/pick-rules.js';

const f = (path: string, mtimeMs: number, size = 100): FileIdentity => ({ path, size, mtimeMs });
const NOW = 1_800_000_000_000;
const facts = (over: Partial<PickFacts> = {}): PickFacts => ({
  file: f('/x/users-2.csv', NOW - 120_000),
  settleMs: 60_000,
  now: NOW,
  ...over,
});

describe('--ready-marker', () => {
  it("a plain name is a file in the data file's folder (_SUCCESS)", () => {
    const m = parseReadyMarker('_SUCCESS');
    expect(m).toEqual({ kind: 'in-folder', name: '_SUCCESS' });
    if (typeof m === 'string') throw new Error(m);
    expect(markerPath('/exports/dt=1/part-0.csv.gz', m)).toBe('/exports/dt=1/_SUCCESS');
  });

  it.each(['FILE.done', '.done'])("%s is the file's own name plus .done", (text) => {
    const m = parseReadyMarker(text);
    expect(m).toEqual({ kind: 'suffix', suffix: '.done' });
    if (typeof m === 'string') throw new Error(m);
    expect(markerPath('/exports/users-1.csv.gz', m)).toBe('/exports/users-1.csv.gz.done');
  });

  it('FILE_OK keeps what follows FILE as the suffix', () => {
    expect(parseReadyMarker('FILE_OK')).toEqual({ kind: 'suffix', suffix: '_OK' });
  });

  it.each(['', '  ', 'FILE', '.', 'a/_SUCCESS', '..\\x'])(
    'refuses %j with one line naming the flag',
    (text) => {
      const m = parseReadyMarker(text);
      expect(typeof m).toBe('string');
      expect(m).toMatch(/^--ready-marker: /);
      expect(m).not.toContain('\n');
    },
  );

  it('markers are never data', () => {
    const dir = { kind: 'in-folder', name: '_SUCCESS' } as const;
    const suffix = { kind: 'suffix', suffix: '.done' } as const;
    expect(isMarker('/e/_SUCCESS', dir)).toBe(true);
    expect(isMarker('/e/users.csv', dir)).toBe(false);
    expect(isMarker('/e/users.csv.done', suffix)).toBe(true);
    expect(isMarker('/e/users.csv', suffix)).toBe(false);
    expect(isMarker('/e/_SUCCESS', undefined)).toBe(false);
  });
});

describe('newest', () => {
  it('takes the latest modification time, whatever the names say', () => {
    expect(newest([f('/x/b', 2), f('/x/a', 3), f('/x/c', 1)])?.path).toBe('/x/a');
  });
  it('of equal times, takes the last name', () => {
    expect(newest([f('/x/users-27', 5), f('/x/users-28', 5), f('/x/users-26', 5)])?.path).toBe('/x/users-28');
  });
  it('of nothing, nothing', () => expect(newest([])).toBeUndefined());
});

describe('decide', () => {
  it('a file unchanged for the settle period is taken without waiting', () => {
    expect(decide(facts())).toEqual({ kind: 'new', file: facts().file });
  });

  it('a file written to within the settle period is looked at again when it would be settled', () => {
    const d = decide(facts({ file: f('/x/u.csv', NOW - 45_000) }));
    expect(d).toMatchObject({ kind: 'look-again', afterMs: 15_000 });
  });

  it('an mtime ahead of our clock waits at most one settle period', () => {
    expect(decide(facts({ file: f('/x/u.csv', NOW + 3_600_000) }))).toMatchObject({
      kind: 'look-again',
      afterMs: 60_000,
    });
  });

  it('on the second look: unchanged is taken, changed is not ready: growing', () => {
    const before = f('/x/u.csv', NOW - 45_000, 100);
    expect(decide(facts({ file: before, before }))).toMatchObject({ kind: 'new' });
    const grew = f('/x/u.csv', NOW - 10, 150);
    expect(decide(facts({ file: grew, before }))).toEqual({
      kind: 'not-ready',
      file: grew,
      reason: 'not ready: growing',
    });
  });

  it('the file the last sync took is no new file, even before it would be checked for readiness', () => {
    const file = f('/x/u.csv', NOW - 1000);
    expect(decide(facts({ file, synced: { ...file } }))).toMatchObject({ kind: 'no-new-file' });
  });

  it('the same path rewritten (other size or mtime) is new', () => {
    const file = f('/x/u.csv', NOW - 120_000, 200);
    expect(decide(facts({ file, synced: { ...file, size: 100 } }))).toMatchObject({ kind: 'new' });
  });

  it('a match older than what was last synced is no new file: syncing it would go back in time', () => {
    const file = f('/x/users-27.csv', NOW - 200_000);
    const d = decide(facts({ file, synced: f('/x/users-28.csv', NOW - 100_000) }));
    expect(d).toMatchObject({ kind: 'no-new-file' });
  });

  it('with a marker: ready only when it exists and is not older than the file; no waiting', () => {
    const file = f('/x/u.csv', NOW - 1000);
    const at = (mtimeMs: number | undefined) => ({ path: '/x/_SUCCESS', mtimeMs });
    expect(decide(facts({ file, marker: at(undefined) }))).toMatchObject({
      kind: 'not-ready',
      reason: 'not ready: no _SUCCESS',
    });
    expect(decide(facts({ file, marker: at(NOW - 5000) }))).toMatchObject({
      kind: 'not-ready',
      reason: 'not ready: _SUCCESS is older than the file',
    });
    expect(decide(facts({ file, marker: at(NOW - 500) }))).toMatchObject({ kind: 'new' });
    expect(decide(facts({ file, marker: at(file.mtimeMs) }))).toMatchObject({ kind: 'new' });
  });
});

describe('cron and time zones', () => {
  it('takes 5 fields, 6 with seconds, and aliases', () => {
    expect(cronProblem('0 2 * * *', 'Europe/Berlin')).toBeUndefined();
    expect(cronProblem('*/2 * * * * *', 'UTC')).toBeUndefined();
    expect(cronProblem('@daily', 'UTC')).toBeUndefined();
  });

  it.each([
    ['0 2 * *', /expected 5 fields/],
    ['61 2 * * *', /61/],
    ['bogus', /expected 5 fields/],
    ['0 0 30 2 *', /never|day of month/i],
  ])('refuses %j in one line', (cron, why) => {
    const p = cronProblem(cron, 'UTC');
    expect(p).toMatch(/^--cron: /);
    expect(p).toMatch(why);
    expect(p).not.toContain('\n');
  });

  it('knows time zones by their IANA names, in any case', () => {
    expect(canonicalTimeZone('europe/berlin')).toBe('Europe/Berlin');
    expect(canonicalTimeZone('UTC')).toBe('UTC');
    expect(canonicalTimeZone('Mars/Base')).toBeUndefined();
  });

  it("the next firing is read in the schedule's time zone", () => {
    const from = new Date('2026-07-01T12:00:00Z');
    const next = nextFiring('0 2 * * *', 'Europe/Berlin', from);
    expect(next?.toISOString()).toBe('2026-07-02T00:00:00.000Z'); // 02:00 CEST
    expect(clockIn(next!.getTime(), 'Europe/Berlin')).toBe('2026-07-02 02:00:00');
    expect(clockIn(next!.getTime(), 'UTC')).toBe('2026-07-02 00:00:00');
  });

  it('durations take a unit', () => {
    expect(parseDuration('5s')).toBe(5000);
    expect(parseDuration('500ms')).toBe(500);
    expect(parseDuration('2m')).toBe(120_000);
    expect(parseDuration('1.5h')).toBe(5_400_000);
    expect(parseDuration('5')).toBeUndefined();
    expect(parseDuration('soon')).toBeUndefined();
  });
});
