import type { DeadLetter } from '../../schemas/dead-letter.js';
import { readDeadLetters } from '../dead-letter/export.js';
import type { RunRecord, RunStore } from '../runs/store.js';

/** One error code of a run's dead letters, with a few rows to look at: line and external_id only. */
export interface LetterGroup {
  code: string;
  count: number;
  stages: string[];
  maybeDelivered: number;
  examples: Array<{ line: number; externalId: string | null }>;
}

export interface LetterGroups {
  /** Letters read; fewer than the run holds when it holds more than the scan limit. */
  scanned: number;
  complete: boolean;
  groups: LetterGroup[];
}

export const EXAMPLES_PER_CODE = 5;
/** A run may hold millions of letters: the page groups the first this many (about 1 s of Redis reads). */
export const SCAN_LIMIT = 100_000;

/** The column a run's rows took their external_id from: its id column, a mapping's rename, or the default. */
export function idColumnOf(run: Pick<RunRecord, 'idColumn' | 'mapping'>): string {
  if (run.idColumn) return run.idColumn;
  try {
    const columns = (JSON.parse(run.mapping ?? '{}') as { columns?: Record<string, unknown> }).columns ?? {};
    for (const [from, to] of Object.entries(columns)) {
      const rename = typeof to === 'object' && to !== null ? (to as { rename?: unknown }).rename : to;
      if (rename === 'external_id') return from;
    }
  } catch {
    // A mapping we cannot read: the default column.
  }
  return 'external_id';
}

/** The identifier of the row a letter holds, and nothing else of it. */
export function externalIdOf(letter: DeadLetter, idColumn: string): string | null {
  const rec = letter.record;
  if (!rec) return null;
  if (rec.format === 'csv') return rec.values[idColumn] ?? rec.values['external_id'] ?? null;
  const v = rec.value;
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return null;
  const id = (v as Record<string, unknown>)['external_id'] ?? (v as Record<string, unknown>)[idColumn];
  return typeof id === 'string' || typeof id === 'number' ? String(id) : null;
}

function add(byCode: Map<string, LetterGroup>, letter: DeadLetter, idColumn: string) {
  let g = byCode.get(letter.code);
  if (!g) {
    g = { code: letter.code, count: 0, stages: [], maybeDelivered: 0, examples: [] };
    byCode.set(letter.code, g);
  }
  g.count++;
  if (!g.stages.includes(letter.stage)) g.stages.push(letter.stage);
  if (letter.maybeDelivered) g.maybeDelivered++;
  if (g.examples.length < EXAMPLES_PER_CODE)
    g.examples.push({ line: letter.line, externalId: externalIdOf(letter, idColumn) });
}

const sorted = (m: Map<string, LetterGroup>) =>
  [...m.values()].sort((a, b) => b.count - a.count || a.code.localeCompare(b.code));

/** Reads a run's letters (paged) and groups them; stops reading at the scan limit. */
export async function readLetterGroups(
  runs: RunStore,
  run: RunRecord,
  limit = SCAN_LIMIT,
): Promise<LetterGroups> {
  const byCode = new Map<string, LetterGroup>();
  const idColumn = idColumnOf(run);
  let scanned = 0;
  for await (const letter of readDeadLetters(runs, run.runId)) {
    if (scanned >= limit) return { scanned, complete: false, groups: sorted(byCode) };
    scanned++;
    add(byCode, letter, idColumn);
  }
  return { scanned, complete: true, groups: sorted(byCode) };
}
