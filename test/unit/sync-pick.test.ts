/** pickInput on real files in a temp folder: globs, markers, mtimes, a file still being written. */
import { appendFileSync, mkdirSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import { matchSource, pickInput } from '../../src/sync/pick.js';
import { type FileIdentity, parseReadyMarker, type ReadyMarker } from '../../src/sync/pick-rules.js';
import { tempDir } from '../helpers/files.js';

const root = tempDir('sync-pick-');
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh folder per test. */
function folder(): string {
  const dir = join(root, `t${++n}`);
  mkdirSync(dir, { recursive: true });
  return dir;
}

/** Writes a file whose mtime is `ageMs` ago. */
function put(dir: string, name: string, ageMs: number, content = 'external_id\nu1\n'): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  const t = (Date.now() - ageMs) / 1000;
  utimesSync(path, t, t);
  return path;
}

const identity = (path: string): FileIdentity => {
  const s = statSync(path);
  return { path, size: s.size, mtimeMs: s.mtimeMs };
};

const marker = (text: string): ReadyMarker => {
  const m = parseReadyMarker(text);
  if (typeof m === 'string') throw new Error(m);
  return m;
};

describe('pickInput', () => {
  it('takes the newest match by modification time, not by name', async () => {
    const dir = folder();
    put(dir, 'users-3.csv', 600_000);
    const newer = put(dir, 'users-1.csv', 120_000);
    put(dir, 'users-2.csv', 300_000);
    const picked = await pickInput(join(dir, 'users-*.csv'), { settleMs: 60_000 });
    expect(picked).toMatchObject({ kind: 'new', file: { path: newer } });
  });

  it('a glob that matches nothing is a one-line UsageError', async () => {
    const dir = folder();
    put(dir, 'other.csv', 120_000);
    const err = await pickInput(join(dir, 'users-*.csv'), { settleMs: 0 }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).lines).toEqual([`no file matches ${join(dir, 'users-*.csv')}`]);
    await expect(matchSource(join(dir, 'missing.csv'))).rejects.toThrow(/^no such file: /);
  });

  it('a path that exists is itself, even with glob characters in its name', async () => {
    const dir = folder();
    const odd = put(dir, 'users[1].csv', 120_000);
    expect(await matchSource(odd)).toEqual([identity(odd)]);
  });

  it('a file still growing is not ready, and no older match is taken instead', async () => {
    const dir = folder();
    put(dir, 'users-1.csv', 600_000); // complete, older
    const growing = put(dir, 'users-2.csv', 0);
    const writer = setInterval(() => appendFileSync(growing, 'u2\n'), 50);
    try {
      const started = Date.now();
      const picked = await pickInput(join(dir, 'users-*.csv'), { settleMs: 400 });
      expect(picked).toMatchObject({
        kind: 'not-ready',
        reason: 'not ready: growing',
        file: { path: growing },
      });
      // It watched for the rest of the settle period, no longer.
      expect(Date.now() - started).toBeLessThan(2000);
    } finally {
      clearInterval(writer);
    }
  });

  it('a file written a moment ago that then stays still is taken after the settle period', async () => {
    const dir = folder();
    const file = put(dir, 'users-1.csv', 0);
    const started = Date.now();
    const picked = await pickInput(file, { settleMs: 300 });
    expect(picked).toMatchObject({ kind: 'new', file: identity(file) });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
  });

  it('a file settled long ago is taken at once', async () => {
    const dir = folder();
    const file = put(dir, 'users-1.csv', 120_000);
    const started = Date.now();
    expect(await pickInput(file, { settleMs: 60_000 })).toMatchObject({ kind: 'new' });
    expect(Date.now() - started).toBeLessThan(200);
  });

  it('a worker stopping ends the wait: not ready', async () => {
    const dir = folder();
    const file = put(dir, 'users-1.csv', 0);
    const stop = new AbortController();
    setTimeout(() => stop.abort(), 50);
    const picked = await pickInput(file, { settleMs: 60_000, signal: stop.signal });
    expect(picked).toMatchObject({ kind: 'not-ready' });
  });

  it('the file the last sync took is no new file; rewritten in place, it is new again', async () => {
    const dir = folder();
    const file = put(dir, 'users-1.csv', 120_000);
    const synced = identity(file);
    expect(await pickInput(join(dir, '*.csv'), { settleMs: 60_000, synced })).toMatchObject({
      kind: 'no-new-file',
    });
    put(dir, 'users-1.csv', 90_000, 'external_id\nu1\nu2\n');
    expect(await pickInput(join(dir, '*.csv'), { settleMs: 60_000, synced })).toMatchObject({ kind: 'new' });
  });

  it('_SUCCESS: ready when the folder holds one written after the file, and it is never a match', async () => {
    const dir = folder();
    const file = put(dir, 'part-00000.csv', 10);
    const rule = { settleMs: 60_000, readyMarker: marker('_SUCCESS') };
    expect(await pickInput(join(dir, '*'), rule)).toMatchObject({
      kind: 'not-ready',
      reason: 'not ready: no _SUCCESS',
    });
    put(dir, '_SUCCESS', 0, '');
    // A fresh file is ready at once: the marker says so, no settle period.
    expect(await pickInput(join(dir, '*'), rule)).toMatchObject({ kind: 'new', file: { path: file } });
  });

  it('a _SUCCESS older than the file is from an earlier export: not ready', async () => {
    const dir = folder();
    put(dir, '_SUCCESS', 600_000, '');
    put(dir, 'part-00000.csv', 10);
    const picked = await pickInput(join(dir, 'part-*.csv'), { settleMs: 0, readyMarker: marker('_SUCCESS') });
    expect(picked).toMatchObject({ kind: 'not-ready', reason: 'not ready: _SUCCESS is older than the file' });
  });

  it.each(['FILE.done', '.done'])(
    '%s: ready when users.csv.done exists; .done files are not matches',
    async (m) => {
      const dir = folder();
      const older = put(dir, 'users-1.csv', 600_000);
      put(dir, 'users-1.csv.done', 590_000, '');
      const newer = put(dir, 'users-2.csv', 10);
      const rule = { settleMs: 60_000, readyMarker: marker(m) };
      // The newest has no marker yet: not ready, and users-1 (complete, older) is not taken instead.
      expect(await pickInput(join(dir, 'users-*'), rule)).toMatchObject({
        kind: 'not-ready',
        file: { path: newer },
        reason: 'not ready: no users-2.csv.done',
      });
      put(dir, 'users-2.csv.done', 0, '');
      expect(await pickInput(join(dir, 'users-*'), rule)).toMatchObject({
        kind: 'new',
        file: { path: newer },
      });
      expect((await matchSource(join(dir, 'users-*'), rule.readyMarker)).map((f) => f.path).sort()).toEqual([
        older,
        newer,
      ]);
    },
  );
});
