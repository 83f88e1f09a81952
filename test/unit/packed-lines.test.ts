import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { ChunkLines } from '../../schemas/track.js';
import { PackedLines, packChunkLines } from '../../src/chunk/packed-lines.js';
import { settings } from '../helpers/property.js';

/**
 * A job's lines packed while it waits in the producer (src/chunk/packed-lines.ts), against their
 * plain reference, the lines themselves: JSON.stringify must write the same text, since that text is
 * the job every worker reads.
 */

/** Line numbers as a file gives them, and beyond what a small integer holds. */
const line = fc.oneof(
  fc.integer({ min: 1, max: 10_000 }),
  fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
);
const lines: fc.Arbitrary<ChunkLines> = fc.record({
  // Mostly one line an object; a merged object has several (a user's rows folded into one).
  attributes: fc.array(
    fc.oneof(
      { weight: 4, arbitrary: line.map((l) => [l]) },
      { weight: 1, arbitrary: fc.array(line, { minLength: 2 }) },
    ),
    { maxLength: 80 },
  ),
  events: fc.array(line, { maxLength: 80 }),
  purchases: fc.array(line, { maxLength: 80 }),
});

describe('PackedLines', () => {
  it('is written by JSON.stringify exactly as the lines it packs (10,000 chunks)', () => {
    fc.assert(
      fc.property(lines, (l) => {
        const job = { v: 2, chunk: 3, lines: l };
        expect(JSON.stringify({ ...job, lines: PackedLines.of(l) })).toBe(JSON.stringify(job));
      }),
      settings,
    );
  });

  it('keeps one array of first lines, and its own array only for a merged object', () => {
    const packed = PackedLines.of({ attributes: [[2], [3, 9], [4]], events: [5], purchases: [] });
    expect(packed.toJSON()).toEqual({ attributes: [[2], [3, 9], [4]], events: [5], purchases: [] });
    expect(Object.values(packed).filter(Array.isArray)).toEqual([[2, 3, 4], [5], []]);
  });

  it('reads back, for the sender, as the lines it packs, and writes out as them (10,000 chunks)', () => {
    fc.assert(
      fc.property(lines, (l) => {
        const chunk = { chunk: 3, lines: l };
        const text = JSON.stringify(chunk);
        const plain = structuredClone(l);
        packChunkLines([chunk]);
        expect(chunk.lines).not.toBe(l);
        expect(chunk.lines.events).toEqual(plain.events);
        expect(chunk.lines.purchases).toEqual(plain.purchases);
        expect(chunk.lines.attributes).toEqual(plain.attributes);
        // Made once, on the first read.
        expect(chunk.lines.attributes).toBe(chunk.lines.attributes);
        expect(JSON.stringify(chunk)).toBe(text);
      }),
      settings,
    );
  });

  it('leaves a chunk without lines as it came (a job added by hand)', () => {
    const odd = { chunk: 1 } as unknown as { lines: ChunkLines };
    packChunkLines([odd]);
    expect(odd).toEqual({ chunk: 1 });
  });
});
