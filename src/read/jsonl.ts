import { flushable, none } from 'stream-chain';
import fixUtf8Stream from 'stream-chain/utils/fixUtf8Stream.js';
import type { RawRow } from '../../schemas/record.js';

/**
 * JSONL bytes -> raw rows: one JSON value per line, blank lines skipped but counted, a line that is
 * not JSON becomes a `bad_json` error row and reading goes on. Lines are split with indexOf rather
 * than a regex (cheaper, per the performance baseline). A line over MAX_LINE_CHARS becomes an error
 * row and is skipped, so a file without newlines cannot fill memory.
 */

export const MAX_LINE_CHARS = 8 * 1024 * 1024;

type Out = Generator<RawRow, void, unknown>;

export function jsonlStages(): [ReturnType<typeof fixUtf8Stream>, (chunk: string) => Out] {
  let rest = '';
  let line = 0;
  /** Inside an over-long line that was already reported: discard up to its newline. */
  let skipping = false;
  const rows = function* (chunk: string | typeof none): Out {
    if (chunk === none) {
      if (rest !== '' && !skipping) yield* parseLine(rest, ++line);
      rest = '';
      return;
    }
    // Scan only the new chunk for the first newline: a long line must not be rescanned per chunk.
    const first = chunk.indexOf('\n');
    const text = rest === '' ? chunk : rest + chunk;
    let start = 0;
    const from = first === -1 ? -1 : text.length - chunk.length + first;
    for (let nl = from; nl !== -1; nl = text.indexOf('\n', start)) {
      const end = nl > start && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
      if (skipping) skipping = false;
      else yield* parseLine(text.slice(start, end), ++line);
      start = nl + 1;
    }
    rest = start === 0 ? text : text.slice(start);
    if (rest.length > MAX_LINE_CHARS && !skipping) {
      const message = `line longer than ${MAX_LINE_CHARS} characters (no request could carry it); skipped`;
      yield { line: ++line, kind: 'error', code: 'bad_json', message };
      skipping = true;
    }
    if (skipping) rest = '';
  };
  return [fixUtf8Stream(), flushable(rows) as (chunk: string) => Out];
}

function* parseLine(text: string, line: number): Generator<RawRow> {
  const body = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') return;
  try {
    yield { line, kind: 'jsonl', value: JSON.parse(body) };
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    yield { line, kind: 'error', code: 'bad_json', message: `not valid JSON: ${reason}`, raw: body };
  }
}
