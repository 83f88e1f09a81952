import { stat } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { glob, isDynamicPattern } from 'tinyglobby';
import { UsageError } from '../errors.js';
import {
  decide,
  type FileIdentity,
  isMarker,
  markerPath,
  newest,
  type PickDecision,
  type ReadyMarker,
} from './pick-rules.js';

/**
 * The input of a sync from a path or a glob: the file system side of src/sync/pick-rules.ts, which
 * decides. A glob (or path) that matches no file is a UsageError: one line, exit 2.
 */

export interface PickOptions {
  /** Ready only when this marker exists (and is not older than the file). */
  readyMarker?: ReadyMarker | undefined;
  /** Without a marker: ready when the file has not changed for this long. */
  settleMs: number;
  /** What the last successful sync took: the same file again is "no new file". */
  synced?: FileIdentity | undefined;
  /** Stops the wait for a file to settle (a worker shutting down): the file is "not ready". */
  signal?: AbortSignal | undefined;
  now?: () => number;
}

export type Picked = Exclude<PickDecision, { kind: 'look-again' }>;

async function identity(path: string): Promise<FileIdentity | undefined> {
  try {
    const s = await stat(path);
    return s.isFile() ? { path, size: s.size, mtimeMs: s.mtimeMs } : undefined;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/**
 * Every file `source` names: the file itself when it exists (a name may hold `[` or `*`), else the
 * glob's matches, markers left out. Paths are as given (absolute when `source` is).
 */
export async function matchSource(source: string, marker?: ReadyMarker): Promise<FileIdentity[]> {
  const literal = await identity(source);
  if (literal) return [literal];
  if (!isDynamicPattern(source)) throw new UsageError(`no such file: ${source}`);
  const paths = await glob(source, { onlyFiles: true, absolute: source.startsWith('/') });
  const found: FileIdentity[] = [];
  for (const p of paths) {
    if (isMarker(p, marker)) continue;
    const id = await identity(p);
    if (id) found.push(id); // gone since the glob listed it: not a match
  }
  if (found.length === 0) throw new UsageError(`no file matches ${source}`);
  return found;
}

/**
 * Picks the newest match and says whether to take it. A match written to within the settle period is
 * watched until it is settleMs old (at most settleMs); one that changes meanwhile is "not ready".
 */
export async function pickInput(source: string, o: PickOptions): Promise<Picked> {
  const now = o.now ?? Date.now;
  const file = newest(await matchSource(source, o.readyMarker));
  if (!file) throw new UsageError(`no file matches ${source}`);
  const marker = o.readyMarker ? await markerFacts(markerPath(file.path, o.readyMarker)) : undefined;
  const first = decide({ file, synced: o.synced, marker, settleMs: o.settleMs, now: now() });
  if (first.kind !== 'look-again') return first;
  try {
    await sleep(first.afterMs, undefined, { signal: o.signal });
  } catch {
    return { kind: 'not-ready', file, reason: 'not ready: stopped while waiting for it to settle' };
  }
  const again = await identity(file.path);
  if (!again) return { kind: 'not-ready', file, reason: 'not ready: gone while waiting for it to settle' };
  const second = decide({ file: again, synced: o.synced, settleMs: o.settleMs, now: now(), before: file });
  // A second look never asks for a third; if it somehow did, the next firing looks again.
  return second.kind === 'look-again'
    ? { kind: 'not-ready', file: again, reason: 'not ready: growing' }
    : second;
}

async function markerFacts(path: string): Promise<{ path: string; mtimeMs: number | undefined }> {
  try {
    return { path, mtimeMs: (await stat(path)).mtimeMs };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { path, mtimeMs: undefined };
    throw err;
  }
}
