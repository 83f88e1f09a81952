import type { DeadLetter } from '../../schemas/dead-letter.js';
import type { RawRow } from '../../schemas/record.js';

export type ReplayStage = DeadLetter['stage'];

/**
 * Dead letters back into raw rows, at their original line numbers, so a replay validates and
 * chunks them exactly like a first import (and a row still bad is rejected again, not sent).
 */
export async function* replayRows(
  letters: AsyncIterable<DeadLetter>,
  stages: ReadonlySet<ReplayStage>,
): AsyncGenerator<RawRow> {
  // The CSV validator compiles one plan per header array: hand rows with the same columns the same array.
  const headers = new Map<string, readonly string[]>();
  for await (const dl of letters) {
    if (!stages.has(dl.stage) || !dl.record) continue;
    const rec = dl.record;
    if (rec.format === 'json') {
      yield { line: dl.line, kind: 'jsonl', value: rec.value };
      continue;
    }
    const names = Object.keys(rec.values);
    const key = names.join('\u0000');
    let header = headers.get(key);
    if (!header) {
      header = names;
      headers.set(key, header);
    }
    yield { line: dl.line, kind: 'csv', values: rec.values, header };
  }
}
