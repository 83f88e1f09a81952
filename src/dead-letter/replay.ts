import type { DeadLetter } from '../../schemas/dead-letter.js';
import type { RawRow } from '../../schemas/record.js';

export type ReplayStage = DeadLetter['stage'];

/**
 * Dead letters back into raw rows, at their original line numbers, so a replay validates and
 * chunks them exactly like a first import (and a row still bad is rejected again, not sent).
 */
export interface ReplayOptions {
  /**
   * Letters whose chunk may already be in Braze (an attempt got no answer): their attributes are sent
   * again (the same values twice change nothing); their events and purchases only with this set,
   * since Braze would record them twice.
   */
  includeMaybeDelivered?: boolean;
  /** Hears each letter left out for that reason. */
  onSkip?: (dl: DeadLetter) => void;
}

/** An event or a purchase that may already be recorded: not sent again unless asked for. */
function mayDuplicate(dl: DeadLetter): boolean {
  if (!dl.maybeDelivered || dl.record?.format !== 'json') return false;
  const v = dl.record.value;
  return typeof v === 'object' && v !== null && ('events' in v || 'purchases' in v);
}

export async function* replayRows(
  letters: AsyncIterable<DeadLetter>,
  stages: ReadonlySet<ReplayStage>,
  options: ReplayOptions = {},
): AsyncGenerator<RawRow> {
  // The CSV validator compiles one plan per header array: hand rows with the same columns the same array.
  const headers = new Map<string, readonly string[]>();
  for await (const dl of letters) {
    if (!stages.has(dl.stage) || !dl.record) continue;
    if (!options.includeMaybeDelivered && mayDuplicate(dl)) {
      options.onSkip?.(dl);
      continue;
    }
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
    yield { line: dl.line, kind: 'csv', cells: header.map((name) => rec.values[name] ?? ''), header };
  }
}
