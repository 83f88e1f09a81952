import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.js';
import {
  checkMappingAgainstHeader,
  parseMapping,
  parseMappingText,
  resolveIdColumn,
} from '../../src/validate/index.js';

function problems(input: unknown): string[] {
  try {
    parseMapping(input, 'map.json');
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).lines;
  }
  throw new Error('expected a UsageError');
}

describe('mapping file', () => {
  it('parses the documented example fixture', () => {
    const mapping = parseMappingText(readFileSync('test/fixtures/mapping.json', 'utf8'), 'mapping.json');
    expect(mapping.columns?.['Email Address']).toEqual({ rename: 'email' });
    expect(mapping.events?.[0]?.name).toEqual({ value: 'signup' });
    expect(mapping.purchases?.[0]?.currency).toEqual({ value: 'USD' });
    expect(mapping.purchases?.[0]?.price).toEqual({ column: 'amount' });
  });

  it('reports every problem at once, each with its path', () => {
    const lines = problems({
      columns: { zip: { type: 'text' }, note: { drop: true, rename: 'x' }, a: 'same', b: 'same' },
      events: [{ time: 't' }],
      purchases: [{ product_id: 'sku', price: 'p', time: 't', currency: 'c', qty: 'q' }],
      extra: true,
    });
    expect(lines).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^map\.json: columns\.zip\.type: /),
        expect.stringMatching(/^map\.json: events\[0\]\.name: /),
        expect.stringMatching(/^map\.json: purchases\[0\]: .*qty/),
        expect.stringMatching(/^map\.json: \(top level\): .*extra/),
      ]),
    );
    expect(lines.length).toBeGreaterThanOrEqual(4);
  });

  it('refuses contradictions: dropped and renamed, two columns to one name, an event reading a dropped column', () => {
    const lines = problems({
      columns: { note: { drop: true, rename: 'x' }, a: 'same', b: 'same', gone: { drop: true } },
      events: [{ name: 'e', time: 'gone' }],
    });
    expect(lines).toEqual([
      'map.json: columns.note: a dropped column cannot also be renamed or typed',
      'map.json: columns.b: "a" is already mapped to "same"',
      'map.json: events[0].time: column "gone" is dropped',
    ]);
  });

  it('reports invalid JSON in one line', () => {
    expect(() => parseMappingText('{ nope', 'm.json')).toThrow(/^m\.json: not valid JSON/);
  });

  it('finds the id column: a column renamed to external_id, else --id-column, else external_id', () => {
    expect(resolveIdColumn(parseMapping({ columns: { UserID: 'external_id' } }))).toBe('UserID');
    expect(resolveIdColumn(undefined, 'uid')).toBe('uid');
    expect(resolveIdColumn(undefined)).toBe('external_id');
  });

  it('checks a mapping against a CSV header', () => {
    const mapping = parseMapping({
      columns: { emial: 'email' },
      purchases: [{ product_id: 'sku', currency: { value: 'USD' }, price: 'amount', time: 't' }],
    });
    expect(checkMappingAgainstHeader(mapping, ['external_id', 'email', 'sku', 't'], 'external_id')).toEqual([
      expect.stringMatching(/columns\.emial names column "emial"/),
      expect.stringMatching(/purchases\[0\]\.price names column "amount"/),
    ]);
    expect(checkMappingAgainstHeader(undefined, ['uid', 'external_id'], 'uid')).toEqual([
      expect.stringMatching(/column "external_id" would be sent as external_id, but the id comes from "uid"/),
    ]);
  });

  it('refuses a rename onto a column the file also has, naming both (the wrong address was sent)', () => {
    const mapping = parseMapping({ columns: { 'Email Address': 'email' } });
    expect(
      checkMappingAgainstHeader(mapping, ['external_id', 'Email Address', 'email'], 'external_id'),
    ).toEqual([
      'mapping: columns "Email Address" and "email" would both be sent as the attribute "email" (a rename onto a column the file has); drop or rename one of them',
    ]);
    const dropped = parseMapping({ columns: { 'Email Address': 'email', email: { drop: true } } });
    expect(
      checkMappingAgainstHeader(dropped, ['external_id', 'Email Address', 'email'], 'external_id'),
    ).toEqual([]);
    const swapped = parseMapping({ columns: { a: 'b', b: 'a' } });
    expect(checkMappingAgainstHeader(swapped, ['external_id', 'a', 'b'], 'external_id')).toEqual([]);
  });

  it('checks constants against their field: a numeric product_id would reject every row', () => {
    const lines = problems({
      events: [{ name: 'x'.repeat(256), time: { value: '2024-02-31' } }],
      purchases: [
        {
          product_id: { value: 123 },
          currency: { value: 'dollars' },
          price: { value: '9.99' },
          quantity: { value: 101 },
          time: { value: '2024-05-01' },
        },
      ],
    });
    expect(lines).toEqual([
      expect.stringMatching(
        /^map\.json: events\[0\]\.name\.value: the constant "x+" cannot be a name: name longer than 255/,
      ),
      expect.stringMatching(
        /^map\.json: events\[0\]\.time\.value: the constant "2024-02-31" cannot be a time/,
      ),
      expect.stringMatching(
        /^map\.json: purchases\[0\]\.product_id\.value: the constant 123 cannot be a product_id/,
      ),
      expect.stringMatching(
        /^map\.json: purchases\[0\]\.currency\.value: the constant "dollars" cannot be a currency/,
      ),
      expect.stringMatching(
        /^map\.json: purchases\[0\]\.price\.value: the constant "9\.99" cannot be a price/,
      ),
      expect.stringMatching(
        /^map\.json: purchases\[0\]\.quantity\.value: the constant 101 cannot be a quantity/,
      ),
    ]);
  });
});
