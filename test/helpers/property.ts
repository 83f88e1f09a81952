import { Readable, type Transform } from 'node:stream';
import fc from 'fast-check';
import type { RawRow } from '../../schemas/record.js';

/**
 * Shared settings for the differential property tests: each hand-tuned fast path is checked against
 * a plain reference on generated input, with a fixed seed (a failure reproduces on every machine)
 * and at least 10,000 cases.
 */
export const RUNS = 10_000;
export const SEED = 20_261_127;
export const settings = { seed: SEED, numRuns: RUNS } as const;

/**
 * The characters that steer the casting and parsing branches: brackets and braces, quotes, commas,
 * digits, sign, dot, the letters of null/true/false in both cases, whitespace (ASCII and Unicode,
 * line breaks included), and non-ASCII (ß, Arabic-Indic six, an emoji's two UTF-16 units, a
 * zero-width space that trim() keeps, a BOM that it removes).
 */
export const STEERING = [
  '[',
  ']',
  '{',
  '}',
  '"',
  ',',
  ...'0123456789',
  '-',
  '.',
  'e',
  'E',
  ...'ntfNTFulrasULRAS',
  ' ',
  '\t',
  '\n',
  '\r',
  '\u00a0',
  '\u2003',
  '\ufeff',
  '\u200b',
  'ß',
  '٦',
  '😀',
  ':',
  '+',
];

/** Whole words and fragments, so that `null`, `[12]` and `["ß"]` turn up often, not once in a million. */
const FRAGMENTS = [
  'null',
  'NULL',
  'true',
  'True',
  'false',
  'FALSE',
  '[]',
  '[1]',
  '["a"]',
  '{}',
  '""',
  '0.',
  '.5',
];

const unit = fc.constantFrom(...STEERING);

/** A cell of exactly `length` steering characters (an emoji counts as one). */
export const cellOfLength = (length: number) => fc.string({ unit, minLength: length, maxLength: length });

/** Cells of every length 0-16, half of them built around whole words and fragments. */
export const cell = fc.oneof(
  fc.integer({ min: 0, max: 16 }).chain(cellOfLength),
  fc
    .tuple(
      fc.string({ unit, maxLength: 3 }),
      fc.constantFrom(...FRAGMENTS),
      fc.string({ unit, maxLength: 3 }),
    )
    .map(([a, b, c]) => a + b + c),
  fc.constantFrom(...FRAGMENTS),
);

/** `bytes` cut at the given fractions of its length. */
export function pieces(bytes: Buffer, cuts: number[]): Buffer[] {
  const at = [...new Set(cuts.map((f) => Math.floor(f * bytes.length)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let from = 0;
  for (const to of [...at, bytes.length]) {
    if (to > from) out.push(bytes.subarray(from, to));
    from = Math.max(from, to);
  }
  return out;
}

/**
 * The rows a CSV reader (csvParser) gives for these pieces of input, laid end to end into `out`: it
 * hands them on in batches, each checked to be a non-empty array. If reading fails, `out` holds the
 * rows given before.
 */
export async function readerRows(parser: Transform, input: Buffer[], out: RawRow[] = []): Promise<RawRow[]> {
  for await (const batch of Readable.from(input).pipe(parser)) {
    if (!Array.isArray(batch) || batch.length === 0) {
      throw new Error(`expected a batch of rows, got ${JSON.stringify(batch)}`);
    }
    out.push(...(batch as RawRow[]));
  }
  return out;
}
