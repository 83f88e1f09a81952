import { StringDecoder } from 'node:string_decoder';
import { flushable, none } from 'stream-chain';
import type { RawRow } from '../../schemas/record.js';
import { ByteWatch, badText } from './text.js';

/**
 * JSONL bytes -> raw rows: one JSON value per line, blank lines skipped but counted, a line that is
 * not JSON becomes a `bad_json` error row and reading goes on. Lines are split with indexOf rather
 * than a regex (cheaper, per the performance baseline). A line over MAX_LINE_CHARS becomes an error
 * row and is skipped, so a file without newlines cannot fill memory. A line with bytes that are not
 * UTF-8 or with NUL bytes is a `bad_encoding` error row (never sent as replacement characters), and
 * one nested deeper than MAX_NESTING a `too_deep` error row that keeps the line's text: the parsed
 * value would be too deep to serialize into a dead letter.
 */

export const MAX_LINE_CHARS = 8 * 1024 * 1024;
/**
 * Far beyond what the validator accepts (LIMITS.depth, refused there with the field's path), far
 * below what JSON.stringify can walk (a few thousand levels) when the row becomes a dead letter.
 */
export const MAX_NESTING = 100;

type Out = Generator<RawRow, void, unknown>;
type Decode = (chunk: Buffer) => string | typeof none;

export interface JsonlOptions {
  /** Longest line (in UTF-16 units, without its line ending) read as a record; tests make it small. */
  maxLineChars?: number;
}

export function jsonlStages(options: JsonlOptions = {}): [Decode, (chunk: string) => Out] {
  const maxLine = options.maxLineChars ?? MAX_LINE_CHARS;
  const watch = new ByteWatch();
  const decoder = new StringDecoder('utf8');
  const decode = (chunk: Buffer | typeof none): string | typeof none => {
    if (chunk === none) {
      watch.end();
      const tail = decoder.end();
      return tail === '' ? none : tail;
    }
    watch.see(chunk);
    const text = decoder.write(chunk);
    return text === '' ? none : text;
  };
  const tooLong = (line: number): RawRow => ({
    line,
    kind: 'error',
    code: 'bad_json',
    message: `line longer than ${maxLine} characters (no request could carry it); skipped`,
  });
  let rest = '';
  let line = 0;
  /** Inside an over-long line that was already reported: discard up to its newline. */
  let skipping = false;
  const rows = function* (chunk: string | typeof none): Out {
    if (chunk === none) {
      if (rest !== '' && !skipping)
        yield* rest.length > maxLine ? [tooLong(++line)] : parseLine(rest, ++line, watch);
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
      // Every line is measured, not only one still waiting for its end: the limit is exact.
      if (skipping) skipping = false;
      else if (end - start > maxLine) yield tooLong(++line);
      else yield* parseLine(text.slice(start, end), ++line, watch);
      start = nl + 1;
    }
    rest = start === 0 ? text : text.slice(start);
    // A line still open is surely too long past maxLine + 1 (its last character may be the \r of \r\n).
    if (rest.length > maxLine + 1 && !skipping) {
      yield tooLong(++line);
      skipping = true;
    }
    if (skipping) rest = '';
  };
  return [flushable(decode) as Decode, flushable(rows) as (chunk: string) => Out];
}

/** The same stages, each piece of text's rows handed on as one array (RowBatches). */
export function jsonlBatchStages(
  options: JsonlOptions = {},
): [Decode, (chunk: string) => RawRow[] | typeof none] {
  const [decode, rows] = jsonlStages(options);
  const batch = (chunk: string | typeof none): RawRow[] | typeof none => {
    const out = [...rows(chunk as string)];
    return out.length > 0 ? out : none;
  };
  return [decode, flushable(batch) as (chunk: string) => RawRow[] | typeof none];
}

function* parseLine(text: string, line: number, watch: ByteWatch): Generator<RawRow> {
  const body = line === 1 && text.charCodeAt(0) === 0xfeff ? text.slice(1) : text;
  if (body.trim() === '') return;
  const why = watch.suspicious ? badText(body) : undefined;
  if (why !== undefined) {
    yield { line, kind: 'error', code: 'bad_encoding', message: `the line ${why}`, raw: body };
    return;
  }
  let value: unknown;
  try {
    value = JSON.parse(body);
  } catch (err) {
    const reason = (err as Error).message.split('\n')[0];
    yield { line, kind: 'error', code: 'bad_json', message: `not valid JSON: ${reason}`, raw: body };
    return;
  }
  if (mayNestDeeper(body) && deeperThan(value, MAX_NESTING)) {
    const message = `nested deeper than ${MAX_NESTING} levels`;
    yield { line, kind: 'error', code: 'too_deep', message, raw: body };
    return;
  }
  yield { line, kind: 'jsonl', value, text: body };
}

/** Cheap pre-check: nesting needs an opening bracket per level, and most lines have a handful. */
function mayNestDeeper(text: string): boolean {
  let n = 0;
  for (let i = text.indexOf('{'); i !== -1; i = text.indexOf('{', i + 1)) if (++n > MAX_NESTING) return true;
  for (let i = text.indexOf('['); i !== -1; i = text.indexOf('[', i + 1)) if (++n > MAX_NESTING) return true;
  return false;
}

/** Recursion stops at `levels`, so it is bounded whatever the input. */
function deeperThan(value: unknown, levels: number): boolean {
  if (typeof value !== 'object' || value === null) return false;
  if (levels === 0) return true;
  const items = Array.isArray(value) ? value : Object.values(value);
  for (const item of items) if (deeperThan(item, levels - 1)) return true;
  return false;
}
