/** Where the bench keeps its files, and the deterministic CSV it imports (written once per row count). */
import { createWriteStream, existsSync, mkdirSync, renameSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { csvHeader, csvLine, user } from './generate.js';

/** The project root (this file runs from dist/bench/). */
export const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/**
 * The launcher, started as a program as `npx braze-import` starts it: its first line gives Node the
 * flags the command needs at start. benchEnv puts the bench's own node first on PATH.
 */
export const BIN = join(ROOT, 'bin/braze-import.js');
/**
 * `.bench-data/` of this checkout, or `BENCH_DATA_DIR`: a second worktree (an older build measured
 * beside this one) can share the files instead of writing its own (1.4 GB for 10M rows).
 */
export const DATA = resolve(process.env['BENCH_DATA_DIR'] || join(ROOT, '.bench-data'));

/**
 * `.bench-data/users-<rows>.csv`: 12 columns, about 140 bytes a row, row i a pure function of i.
 * Written to a temporary name first, so a bench stopped while writing never leaves a short file
 * that a later run would take for the whole one.
 */
export async function benchFile(rows: number): Promise<string> {
  const file = join(DATA, `users-${rows}.csv`);
  if (existsSync(file)) return file;
  mkdirSync(DATA, { recursive: true });
  const partial = `${file}.partial`;
  const out = createWriteStream(partial);
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
  await write(`${csvHeader()}\n`);
  let batch: string[] = [];
  for (let i = 0; i < rows; i++) {
    batch.push(csvLine(user(2026, i, 0)));
    if (batch.length === 5000) {
      await write(`${batch.join('\n')}\n`);
      batch = [];
    }
  }
  if (batch.length) await write(`${batch.join('\n')}\n`);
  await new Promise<void>((r) => out.end(() => r()));
  renameSync(partial, file);
  return file;
}
