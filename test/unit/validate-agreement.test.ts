import { describe, expect, it } from 'vitest';
import { attributesSchema, externalIdSchema, type RawRow } from '../../schemas/record.js';
import { checkExternalId } from '../../src/validate/checks.js';
import { createValidator, isRejection } from '../../src/validate/index.js';

/**
 * The CSV and flat-JSONL paths use hand-written checks for speed; schemas/record.ts states the same
 * rules in zod. These tests hold the two together (nesting depth is the one rule only the hand path
 * has: a recursive zod schema cannot count levels).
 */

const IDS: unknown[] = [
  'u1',
  '',
  ' ',
  '\u00a0',
  'a b',
  'x'.repeat(987),
  'x'.repeat(988),
  'é'.repeat(493),
  'é'.repeat(494),
  '😀'.repeat(246),
  '😀'.repeat(247),
  'tab\there',
  'nl\n',
  'del\u007f',
  'c1\u009f',
  'ok\u00a0nbsp',
  '007',
  42,
  null,
  undefined,
  ['u1'],
];

const ATTRIBUTE_MAPS: Record<string, unknown>[] = [
  { email: 'a@x.io' },
  { s: 'x'.repeat(255) },
  { s: 'x'.repeat(256) },
  { ['k'.repeat(255)]: 1 },
  { ['k'.repeat(256)]: 1 },
  { '': 1 },
  { constructor: 1 },
  { prototype: 'x' },
  JSON.parse('{"__proto__": 1}') as Record<string, unknown>,
  { n: Number.MAX_SAFE_INTEGER },
  { n: Number.MAX_SAFE_INTEGER + 2 },
  { n: 1.5, b: false, z: null },
  { arr: ['a', 'x'.repeat(256)] },
  { arr: [1, [2, [3]]] },
  { nested: { a: { b: 'ok' } } },
  { nested: { a: { constructor: 'no' } } },
  { nested: { '': 1 } },
  { nested: { s: 'y'.repeat(256) } },
  { objs: [{ a: 1 }, { b: 'x'.repeat(300) }] },
];

describe('hand checks and zod schemas agree', () => {
  it.each(IDS.map((id) => [id]))('external_id %j', (id) => {
    expect(checkExternalId(id) === undefined).toBe(externalIdSchema.safeParse(id).success);
  });

  it.each(ATTRIBUTE_MAPS.map((m) => [m]))('attributes %j', (attributes) => {
    const validate = createValidator({ format: 'jsonl' });
    const fast = validate({ line: 1, kind: 'jsonl', value: { external_id: 'u1', ...attributes } });
    expect(!isRejection(fast)).toBe(attributesSchema.safeParse(attributes).success);
  });

  it('every CSV row the fast path accepts satisfies the zod schemas, and every refusal is one zod makes too', () => {
    const cells = [
      '',
      'null',
      'TRUE',
      '42',
      '007',
      '0.5',
      '9007199254740993',
      '["a","b"]',
      '[1,',
      'x'.repeat(256),
      'Zoë',
      '2024-05-01',
    ];
    const ids = ['u1', '', 'x'.repeat(988), 'bad\u0001id', 'ok-id'];
    const header = ['external_id', 'a', 'b', 'constructor'];
    const validate = createValidator({ format: 'csv' });
    let seed = 7;
    const pick = <T>(list: T[]): T => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return list[seed % list.length]!;
    };
    let accepted = 0;
    let refused = 0;
    for (let i = 0; i < 2000; i++) {
      const values = {
        external_id: pick(ids),
        a: pick(cells),
        b: pick(cells),
        constructor: i % 7 === 0 ? 'x' : '',
      };
      const raw: RawRow = {
        line: i + 2,
        kind: 'csv',
        cells: header.map((name) => values[name as keyof typeof values]),
        header,
      };
      const result = validate(raw);
      if (!isRejection(result)) {
        accepted++;
        expect(externalIdSchema.safeParse(result.externalId).success).toBe(true);
        expect(attributesSchema.safeParse(result.attributes).success).toBe(true);
        continue;
      }
      refused++;
      if (result.code.startsWith('external_id') || result.code === 'missing_external_id') {
        expect(externalIdSchema.safeParse(values.external_id).success).toBe(false);
      } else {
        const field = result.field as 'a' | 'b' | 'constructor';
        expect(attributesSchema.safeParse({ [field]: values[field] }).success).toBe(false);
      }
    }
    expect(accepted).toBeGreaterThan(100);
    expect(refused).toBeGreaterThan(100);
  });
});
