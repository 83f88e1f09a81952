import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { csvHeader, csvLine, type GeneratedUser, jsonlLine, user } from '../../bench/generate.js';

export function tempDir(name = 'bi-'): string {
  return mkdtempSync(join(tmpdir(), name));
}

/** Writes an n-row CSV (header on line 1, user i on line i+2) and returns the users it holds. */
export function writeCsv(
  dir: string,
  n: number,
  seed: number,
  badRate: number,
): { path: string; users: GeneratedUser[] } {
  const users = Array.from({ length: n }, (_, i) => user(seed, i, badRate));
  const path = join(dir, `users-${seed}.csv`);
  writeFileSync(path, `${[csvHeader(), ...users.map(csvLine)].join('\n')}\n`);
  return { path, users };
}

export function writeJsonl(dir: string, n: number, seed: number, badRate: number) {
  const rows = Array.from({ length: n }, (_, i) => jsonlLine(seed, i, badRate));
  const path = join(dir, `users-${seed}.jsonl`);
  writeFileSync(path, `${rows.map((r) => r.line).join('\n')}\n`);
  return { path, rows };
}
