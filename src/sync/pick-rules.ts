import { basename, dirname, join } from 'node:path';

/**
 * Which file a sync takes, decided from facts gathered elsewhere (src/sync/pick.ts gathers them):
 * the newest match, whether it is complete, whether it is the one the last sync already took.
 * No file system access here, so every rule is unit-tested with plain values.
 */

/** One version of a file: a file rewritten in place has another size or modification time. */
export interface FileIdentity {
  path: string;
  size: number;
  mtimeMs: number;
}

/**
 * How an exporter says a file is complete. `in-folder`: a file of that name beside it (Spark's and
 * Hadoop's `_SUCCESS`). `suffix`: the file's own name plus a suffix (`users.csv.gz.done`).
 */
export type ReadyMarker = { kind: 'in-folder'; name: string } | { kind: 'suffix'; suffix: string };

/**
 * `--ready-marker`: `_SUCCESS` (any plain name) is a file of that name in the data file's folder;
 * `FILE.done` (starts with FILE) or `.done` (starts with a dot) is the data file's own name plus
 * `.done`. Returns the problem as text when the value is neither.
 */
export function parseReadyMarker(text: string): ReadyMarker | string {
  const t = text.trim();
  const problem = (why: string) => `--ready-marker: ${why} (got "${text}")`;
  if (/[/\\]/.test(t)) return problem('a file name, not a path: _SUCCESS, FILE.done or .done');
  if (t.startsWith('FILE')) {
    const suffix = t.slice(4);
    return suffix ? { kind: 'suffix', suffix } : problem('FILE needs a suffix, such as FILE.done');
  }
  if (t.startsWith('.')) {
    return t.length > 1 ? { kind: 'suffix', suffix: t } : problem('expected a suffix such as .done');
  }
  if (!t) return problem('expected _SUCCESS, FILE.done or .done');
  return { kind: 'in-folder', name: t };
}

/** Where the marker of `file` is. */
export function markerPath(file: string, m: ReadyMarker): string {
  return m.kind === 'in-folder' ? join(dirname(file), m.name) : `${file}${m.suffix}`;
}

/** A marker is never data, even when the glob matches it (`exports/*`). */
export function isMarker(file: string, m: ReadyMarker | undefined): boolean {
  if (!m) return false;
  return m.kind === 'in-folder' ? basename(file) === m.name : file.endsWith(m.suffix);
}

/** The newest by modification time; of equal times, the last by path (`users-28` after `users-27`). */
export function newest(files: readonly FileIdentity[]): FileIdentity | undefined {
  let best: FileIdentity | undefined;
  for (const f of files) {
    if (!best || f.mtimeMs > best.mtimeMs || (f.mtimeMs === best.mtimeMs && f.path > best.path)) best = f;
  }
  return best;
}

export function sameFile(a: FileIdentity, b: FileIdentity): boolean {
  return a.path === b.path && a.size === b.size && a.mtimeMs === b.mtimeMs;
}

export type PickDecision =
  /** Take it. */
  | { kind: 'new'; file: FileIdentity }
  /** The newest match is what the last sync took (or older than it): nothing to do. */
  | { kind: 'no-new-file'; file: FileIdentity; reason: string }
  /** Not complete yet; an older match is never taken instead (it would move users back in time). */
  | { kind: 'not-ready'; file: FileIdentity; reason: string }
  /** Written to within the settle period: look at it again after `afterMs`. */
  | { kind: 'look-again'; file: FileIdentity; afterMs: number };

export interface PickFacts {
  /** The newest match. */
  file: FileIdentity;
  /** What the schedule's last successful sync took. */
  synced?: FileIdentity | undefined;
  /** With a marker rule: where it is and its mtime (undefined: there is none). */
  marker?: { path: string; mtimeMs: number | undefined } | undefined;
  settleMs: number;
  now: number;
  /** The same path as first seen, on the second look (after waiting). */
  before?: FileIdentity | undefined;
}

export function decide(f: PickFacts): PickDecision {
  const { file, synced } = f;
  if (synced && sameFile(file, synced)) {
    return { kind: 'no-new-file', file, reason: 'no new file: the newest match is the one last synced' };
  }
  if (synced && file.mtimeMs < synced.mtimeMs) {
    // The file last synced is gone or renamed, and what is left is older: syncing it would go back.
    return {
      kind: 'no-new-file',
      file,
      reason: 'no new file: the newest match is older than the last synced',
    };
  }
  if (f.marker) {
    const name = basename(f.marker.path);
    if (f.marker.mtimeMs === undefined) return { kind: 'not-ready', file, reason: `not ready: no ${name}` };
    // A marker older than the file is left from an earlier export into the same folder.
    if (f.marker.mtimeMs < file.mtimeMs)
      return { kind: 'not-ready', file, reason: `not ready: ${name} is older than the file` };
    return { kind: 'new', file };
  }
  if (f.before) {
    // Unchanged across the wait that the first look asked for: settled.
    return f.before.size === file.size && f.before.mtimeMs === file.mtimeMs
      ? { kind: 'new', file }
      : { kind: 'not-ready', file, reason: 'not ready: growing' };
  }
  /*
   * Every write to a file moves its mtime, and its size changes only by writes: a file whose mtime
   * is settleMs old has had the same size and mtime for settleMs, with no need to watch it. Only a
   * file written to within the settle period (or with an mtime ahead of our clock) must be watched,
   * for at most settleMs. A writer that sets an old mtime before it has finished, or a network file
   * system whose clock runs well behind ours, can fool this; a ready marker cannot be fooled.
   */
  const age = f.now - file.mtimeMs;
  if (age >= f.settleMs) return { kind: 'new', file };
  return { kind: 'look-again', file, afterMs: Math.min(f.settleMs, f.settleMs - age) };
}
