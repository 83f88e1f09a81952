import { stringify } from 'csv-stringify/sync';
import { type DeadLetter, deadLetterSchema } from '../../schemas/dead-letter.js';
import type { RunStore } from '../runs/store.js';
import { ERROR_COLUMNS, flatRow, jsonLine, MAYBE_COLUMN } from './shape.js';

const PAGE = 1000;

/** Reads a run's dead letters page by page (constant memory however many there are). */
export async function* readDeadLetters(
  runs: RunStore,
  runId: string,
  source = '',
): AsyncGenerator<DeadLetter> {
  for (const list of ['rejected', 'sent'] as const) {
    for (let start = 0; ; start += PAGE) {
      const page = await runs.deadLetterPage(runId, list, start, start + PAGE - 1);
      for (const text of page) {
        const parsed = deadLetterSchema.safeParse(JSON.parse(text));
        if (parsed.success) yield { ...parsed.data, source: parsed.data.source || source };
      }
      if (page.length < PAGE) break;
    }
  }
}

export interface ExportResult {
  written: number;
  /** Dead letters that have no flat shape (events, purchases) and were left out of a CSV export. */
  skipped: number;
}

/**
 * Writes dead letters ready to fix and re-import: the input's own columns plus _error_code,
 * _error_message and _source_line. CSV needs every column before the first row, so it reads twice.
 */
export async function exportDeadLetters(
  letters: () => AsyncIterable<DeadLetter>,
  format: 'csv' | 'jsonl',
  write: (text: string) => Promise<void> | void,
): Promise<ExportResult> {
  let written = 0;
  let skipped = 0;
  if (format === 'jsonl') {
    for await (const dl of letters()) {
      await write(`${jsonLine(dl)}\n`);
      written++;
    }
    return { written, skipped };
  }
  const columns = new Set<string>();
  for await (const dl of letters()) for (const k of Object.keys(flatRow(dl) ?? {})) columns.add(k);
  const extra: string[] = [...ERROR_COLUMNS];
  if (columns.has(MAYBE_COLUMN)) extra.push(MAYBE_COLUMN);
  for (const c of extra) columns.delete(c);
  const header = [...columns, ...extra];
  await write(stringify([header]));
  for await (const dl of letters()) {
    const row = flatRow(dl);
    if (!row) {
      skipped++;
      continue;
    }
    await write(stringify([header.map((c) => row[c] ?? '')]));
    written++;
  }
  return { written, skipped };
}
