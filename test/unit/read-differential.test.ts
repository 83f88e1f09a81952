import fc from 'fast-check';
import { none } from 'stream-chain';
import { describe, expect, it } from 'vitest';
import type { RawRow } from '../../schemas/record.js';
import { csvParser } from '../../src/read/csv.js';
import { jsonlStages } from '../../src/read/jsonl.js';
import { pieces, readerRows, STEERING, settings } from '../helpers/property.js';
import { referenceCsv, referenceJsonl, view } from '../helpers/reference-readers.js';

/**
 * The readers' fast paths (chunked decoding, line splitting that never rescans, the JSONL line cap,
 * csv-parse's core driven by hand with byte offsets, blank-line detection, error recovery) against
 * plain references on whole texts. Each generated file is cut into random pieces, also inside
 * multi-byte characters and line endings, as a stream would deliver it.
 */

const cuts = fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 });
const steering = (maxLength: number) => fc.string({ unit: fc.constantFrom(...STEERING), maxLength });

describe('JSONL reader against its reference', () => {
  const line = fc.oneof(
    steering(16),
    fc.json({ maxDepth: 3 }),
    steering(8).map((s) => JSON.stringify({ external_id: s })),
    fc.integer({ min: 98, max: 102 }).map((k) => `${'['.repeat(k)}${']'.repeat(k)}`),
  );
  const file = fc
    .tuple(
      fc.boolean(),
      fc.array(fc.tuple(line, fc.constantFrom('\n', '\r\n')), { maxLength: 6 }),
      fc.boolean(),
    )
    .map(([bom, lines, closed]) => {
      const text = lines.map(([l, eol]) => l + eol).join('');
      return (bom ? '\uFEFF' : '') + (closed ? text : text.replace(/\r?\n$/, ''));
    });

  function fast(text: string, maxLineChars: number, at: number[]): RawRow[] {
    const [decode, rows] = jsonlStages({ maxLineChars });
    const out: RawRow[] = [];
    const take = (t: string | typeof none) => {
      if (t !== none) out.push(...rows(t));
    };
    for (const piece of pieces(Buffer.from(text), at)) take(decode(piece));
    take(decode(none as unknown as Buffer));
    out.push(...rows(none as unknown as string));
    return out;
  }

  it('gives the same rows for every file, cut anywhere, with line caps from 0 to 40', () => {
    fc.assert(
      fc.property(file, fc.integer({ min: 0, max: 40 }), cuts, (text, max, at) => {
        expect(fast(text, max, at).map(view)).toEqual(referenceJsonl(text, max));
      }),
      settings,
    );
  });
});

describe('CSV reader against its reference', () => {
  const HEADERS = ['external_id', 'external_id,a', 'external_id,a,b'];
  const quoted = steering(8).map((s) => `"${s.replaceAll('"', '""')}"`);
  const cell = fc.oneof(
    steering(6).map((s) => s.replaceAll('\r', '')),
    quoted,
    quoted.chain((q) => steering(2).map((junk) => q + junk)),
    steering(4).map((s) => `"${s}`),
  );
  const row = fc.array(cell, { minLength: 0, maxLength: 4 }).map((cells) => cells.join(','));
  const file = fc
    .tuple(
      fc.constantFrom(...HEADERS),
      fc.constantFrom('\n', '\r\n'),
      fc.boolean(),
      fc.array(row, { maxLength: 6 }),
      fc.boolean(),
    )
    .map(([header, eol, bom, rows, closed]) => {
      const text = [header, ...rows].join(eol) + (closed ? eol : '');
      return (bom ? '\uFEFF' : '') + text;
    });

  async function fast(text: string, at: number[]): Promise<RawRow[]> {
    const parser = csvParser({ name: 'test.csv', delimiter: ',', idColumn: 'external_id' });
    return readerRows(parser, pieces(Buffer.from(text), at));
  }

  it('gives the same rows for every file, cut anywhere', async () => {
    await fc.assert(
      fc.asyncProperty(file, cuts, async (text, at) => {
        expect((await fast(text, at)).map(view)).toEqual(referenceCsv(text));
      }),
      settings,
    );
  });
});
