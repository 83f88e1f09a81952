import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UserRecord } from '../../schemas/record.js';
import { aloneBytes, bodyBytes, bytesWith, emptyTally, KINDS, type Kind } from '../../src/chunk/body.js';
import { createChunker } from '../../src/chunk/index.js';
import { piecesOf } from '../../src/chunk/pieces.js';
import { STEERING, settings } from '../helpers/property.js';

/**
 * The chunker prices a body from its objects' sizes without joining it: bodyBytes/bytesWith/aloneBytes
 * must equal the size of the body JSON would write, and the chunks it makes must keep to their bounds.
 * The reference is JSON.stringify itself.
 */

/** Strings from the steering characters, control characters and lone surrogates (JSON escapes both). */
const text = fc.string({
  unit: fc.oneof(
    fc.constantFrom(...STEERING),
    fc.constantFrom('\u0001', '\u001f', '\u007f', '\ud800', '\udfff', '"', '\\'),
  ),
  maxLength: 12,
});
const value = fc.anything({
  maxDepth: 4,
  key: text,
  values: [text, fc.double(), fc.integer(), fc.boolean(), fc.constant(null), fc.constant(undefined)],
});

const stringified = (v: unknown) => Buffer.byteLength(JSON.stringify(v) ?? '', 'utf8');

const object = fc.dictionary(text, value, { maxKeys: 4 }).map((o) => ({ external_id: 'u', ...o }));
const body = fc.record(
  {
    attributes: fc.array(object, { maxLength: 4 }),
    events: fc.array(object, { maxLength: 4 }),
    purchases: fc.array(object, { maxLength: 4 }),
  },
  { requiredKeys: [] },
);

describe('body sizes from object sizes', () => {
  it('bodyBytes, bytesWith and aloneBytes equal the size of the body JSON writes', () => {
    fc.assert(
      fc.property(body, fc.constantFrom(...KINDS), object, (b, kind: Kind, extra) => {
        const present = Object.fromEntries(Object.entries(b).filter(([, list]) => list.length > 0));
        const t = emptyTally();
        for (const k of KINDS) {
          for (const o of present[k] ?? []) {
            t.count[k]++;
            t.bytes[k] += stringified(o);
          }
        }
        expect(bodyBytes(t)).toBe(stringified(present));
        const grown = { ...present, [kind]: [...(present[kind] ?? []), extra] };
        expect(bytesWith(t, kind, stringified(extra), 1)).toBe(stringified(grown));
        expect(aloneBytes(kind, stringified(extra))).toBe(stringified({ [kind]: [extra] }));
      }),
      settings,
    );
  });
});

describe('the chunker keeps every body within its bounds', () => {
  const record = fc.record({
    id: fc.constantFrom('u1', 'u2', 'u3', 'u4'),
    attributes: fc.option(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 6 }), fc.oneof(text, fc.integer()), { maxKeys: 5 }),
      { nil: undefined },
    ),
    events: fc.array(fc.record({ name: text, time: fc.constant('2024-01-01') }), { maxLength: 3 }),
  });

  it('no body passes maxBytes or maxObjects, and every record is sent or rejected as too large', () => {
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 12 }),
        fc.integer({ min: 60, max: 600 }),
        fc.integer({ min: 1, max: 5 }),
        (list, maxBytes, maxObjects) => {
          const rejected: number[] = [];
          const chunker = createChunker({ maxBytes, maxObjects, onReject: (r) => rejected.push(r.line) });
          const chunks = [];
          const records: UserRecord[] = list.map((r, i) => ({
            line: i + 2,
            externalId: r.id,
            ...(r.attributes && { attributes: r.attributes }),
            ...(r.events.length > 0 && { events: r.events }),
          }));
          for (const r of records) chunks.push(...chunker.push(r));
          chunks.push(...chunker.flush());
          const sent = new Set<number>();
          for (const c of chunks) {
            expect(c.bytes).toBe(Buffer.byteLength(c.json, 'utf8'));
            expect(c.bytes).toBeLessThanOrEqual(maxBytes);
            const objects =
              (c.body.attributes?.length ?? 0) +
              (c.body.events?.length ?? 0) +
              (c.body.purchases?.length ?? 0);
            expect(objects).toBeLessThanOrEqual(maxObjects);
            for (const l of [...c.lines.attributes.flat(), ...c.lines.events]) sent.add(l);
          }
          for (const r of records) {
            if (piecesOf(r).length === 0) continue;
            expect(sent.has(r.line) !== rejected.includes(r.line)).toBe(true);
          }
        },
      ),
      settings,
    );
  });
});
