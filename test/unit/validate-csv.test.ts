import { describe, expect, it } from 'vitest';
import type { RawRow, Rejection, UserRecord } from '../../schemas/record.js';
import { UsageError } from '../../src/errors.js';
import { createValidator, estimateDataPoints, isRejection, parseMapping } from '../../src/validate/index.js';
import { makeCsvRow } from '../helpers/factories.js';

function record(result: UserRecord | Rejection): UserRecord {
  if (isRejection(result)) throw new Error(`expected a record, got ${result.code}: ${result.message}`);
  return result;
}
function rejection(result: UserRecord | Rejection): Rejection {
  if (!isRejection(result)) throw new Error(`expected a rejection, got ${JSON.stringify(result)}`);
  return result;
}

/** Rows of one file share one header array, as the reader makes them. */
function rowsOf(header: string[], ...cells: string[][]): RawRow[] {
  return cells.map((row, i) =>
    makeCsvRow(Object.fromEntries(header.map((h, j) => [h, row[j] ?? ''])), i + 2, header),
  );
}

describe('CSV rows without a mapping', () => {
  const validate = createValidator({ format: 'csv' });

  it('casts every cell and keeps external_id a string', () => {
    const header = ['external_id', 'age', 'score', 'vip', 'zip', 'gone', 'cleared', 'tags', 'since', 'name'];
    const [row] = rowsOf(header, [
      '007',
      '42',
      '0.5',
      'TRUE',
      '01234',
      '',
      'null',
      '["a","b"]',
      '2024-05-01',
      'Ada',
    ]);
    expect(validate(row!)).toEqual({
      line: 2,
      externalId: '007',
      attributes: {
        age: 42,
        score: 0.5,
        vip: true,
        zip: '01234',
        cleared: null,
        tags: ['a', 'b'],
        since: '2024-05-01',
        name: 'Ada',
      },
    });
  });

  it('keeps an attributes object for an id-only row (creates the profile, costs no data point)', () => {
    const [row] = rowsOf(['external_id', 'email'], ['u1', '']);
    const result = record(validate(row!));
    expect(result.attributes).toEqual({});
    expect(estimateDataPoints(result)).toBe(0);
  });

  it.each([
    ['', 'missing_external_id'],
    ['   ', 'missing_external_id'],
    ['x'.repeat(988), 'external_id_too_long'],
    ['é'.repeat(494), 'external_id_too_long'], // 988 bytes in 494 characters
    ['bad\tid', 'external_id_control_chars'],
    ['bad\u0085id', 'external_id_control_chars'],
  ])('refuses external_id %j with %s', (id, code) => {
    const [row] = rowsOf(['external_id', 'a'], [id, '1']);
    const result = rejection(validate(row!));
    expect(result).toMatchObject({ code, field: 'external_id', line: 2 });
    expect(result.record).toEqual({ external_id: id, a: '1' });
  });

  it('accepts an external_id of exactly 987 bytes', () => {
    const [row] = rowsOf(['external_id'], ['x'.repeat(987)]);
    expect(record(validate(row!)).externalId).toHaveLength(987);
  });

  it('refuses a value longer than 255 characters, naming the column', () => {
    const [row] = rowsOf(['external_id', 'bio'], ['u1', 'x'.repeat(256)]);
    expect(validate(row!)).toMatchObject({ code: 'string_too_long', field: 'bio', externalId: 'u1' });
  });

  it('refuses forbidden or over-long column names only when the cell is filled', () => {
    const long = 'c'.repeat(256);
    const header = ['external_id', 'constructor', long];
    const [empty, filled, longFilled] = rowsOf(header, ['u1', '', ''], ['u2', 'x', ''], ['u3', '', 'y']);
    expect(record(validate(empty!)).attributes).toEqual({});
    expect(validate(filled!)).toMatchObject({ code: 'forbidden_key', field: 'constructor' });
    expect(validate(longFilled!)).toMatchObject({ code: 'string_too_long' });
  });

  it('refuses a __proto__ column without touching any prototype', () => {
    const header = ['external_id', '__proto__'];
    const values = JSON.parse('{"external_id":"u1","__proto__":"[\\"polluted\\"]"}') as Record<
      string,
      string
    >;
    const result = validate({ line: 2, kind: 'csv', cells: header.map((name) => values[name]!), header });
    expect(result).toMatchObject({ code: 'forbidden_key', field: '__proto__' });
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
  });

  it('passes reader error rows through as rejections', () => {
    const raw: RawRow = {
      line: 7,
      kind: 'error',
      code: 'ragged_row',
      message: 'expected 3 cells',
      raw: ['a'],
    };
    expect(validate(raw)).toEqual({
      line: 7,
      code: 'ragged_row',
      message: 'expected 3 cells',
      record: ['a'],
    });
  });

  it('counts data points: one per attribute, event and purchase', () => {
    const [row] = rowsOf(['external_id', 'a', 'b', 'c'], ['u1', '1', '', 'null']);
    expect(estimateDataPoints(record(validate(row!)))).toBe(2);
  });
});

describe('CSV rows with a mapping', () => {
  const mapping = parseMapping({
    columns: {
      'Email Address': 'email',
      zip: { type: 'string' },
      tags: { type: 'array', separator: ';' },
      note: { drop: true },
      plan: { alsoAttribute: true },
    },
    events: [{ name: 'signup', time: 'signup_at', properties: { plan: 'plan', seats: 'seats' } }],
    purchases: [
      { product_id: 'sku', currency: { value: 'USD' }, price: 'amount', quantity: 'qty', time: 'bought_at' },
    ],
  });
  const header = [
    'UserID',
    'Email Address',
    'zip',
    'tags',
    'note',
    'plan',
    'seats',
    'signup_at',
    'sku',
    'amount',
    'qty',
    'bought_at',
  ];
  const validate = createValidator({ mapping, idColumn: 'UserID', format: 'csv' });

  it('renames, forces types, drops, and builds events and purchases', () => {
    const [row] = rowsOf(header, [
      'u1',
      'a@x.io',
      '01234',
      'gold;vip',
      'secret',
      'pro',
      '5',
      '2024-05-01T10:00:00Z',
      '123',
      '9.90',
      '',
      '2024-05-02',
    ]);
    expect(validate(row!)).toEqual({
      line: 2,
      externalId: 'u1',
      attributes: { email: 'a@x.io', zip: '01234', tags: ['gold', 'vip'], plan: 'pro' },
      events: [{ name: 'signup', time: '2024-05-01T10:00:00Z', properties: { plan: 'pro', seats: 5 } }],
      purchases: [{ product_id: '123', currency: 'USD', price: 9.9, quantity: 1, time: '2024-05-02' }],
    });
  });

  it('emits no event or purchase when their columns are all empty', () => {
    const [row] = rowsOf(header, ['u1', 'a@x.io', '', '', '', '', '', '', '', '', '', '']);
    const result = record(validate(row!));
    expect(result.events).toBeUndefined();
    expect(result.purchases).toBeUndefined();
    expect(result.attributes).toEqual({ email: 'a@x.io' });
  });

  it('refuses a partly filled event with bad_event, naming the column', () => {
    const [row] = rowsOf(header, ['u1', '', '', '', '', 'pro', '', '', '', '', '', '']);
    expect(validate(row!)).toMatchObject({ code: 'bad_event', field: 'signup_at' });
    const [badTime] = rowsOf(header, ['u1', '', '', '', '', '', '', 'last tuesday', '', '', '', '']);
    expect(validate(badTime!)).toMatchObject({
      code: 'bad_event',
      field: 'signup_at',
      message: expect.stringMatching(/ISO-8601/),
    });
  });

  /** A row with one purchase (sku1, 9.99, quantity 1) whose cell i is v. */
  const withCell = (i: number, v: string) => {
    const base = ['u1', '', '', '', '', '', '', '', 'sku1', '9.99', '1', '2024-05-02'];
    return rowsOf(
      header,
      base.map((c, j) => (j === i ? v : c)),
    )[0]!;
  };

  it('refuses bad purchases with bad_purchase', () => {
    expect(record(validate(withCell(10, '100'))).purchases?.[0]?.quantity).toBe(100);
    expect(validate(withCell(10, '101'))).toMatchObject({ code: 'bad_purchase', field: 'qty' });
    expect(validate(withCell(10, '0'))).toMatchObject({ code: 'bad_purchase', field: 'qty' });
    expect(validate(withCell(9, 'free'))).toMatchObject({ code: 'bad_purchase', field: 'amount' });
    expect(validate(withCell(11, ''))).toMatchObject({ code: 'bad_purchase', field: 'bought_at' });
  });

  it('reads price and quantity by the float and integer column rules: 0x10 is not 16, 0b11 not 3', () => {
    expect(validate(withCell(9, '0x10'))).toMatchObject({ code: 'bad_purchase', field: 'amount' });
    expect(validate(withCell(10, '0b11'))).toMatchObject({ code: 'bad_purchase', field: 'qty' });
    expect(validate(withCell(9, '1_000'))).toMatchObject({ code: 'bad_purchase', field: 'amount' });
    expect(validate(withCell(9, 'Infinity'))).toMatchObject({ code: 'bad_purchase', field: 'amount' });
    expect(record(validate(withCell(9, ' 1e2 '))).purchases?.[0]?.price).toBe(100);
    expect(record(validate(withCell(10, '007'))).purchases?.[0]?.quantity).toBe(7);
  });

  it('emits an event built only from constants in every row (it was valid but never sent)', () => {
    const constant = createValidator({
      mapping: parseMapping({
        events: [{ name: 'imported', time: { value: '2024-05-01T00:00:00Z' } }],
        purchases: [
          {
            product_id: { value: 'welcome-pack' },
            currency: { value: 'EUR' },
            price: { value: 0 },
            time: { value: '2024-05-01' },
          },
        ],
      }),
    });
    expect(constant(rowsOf(['external_id', 'name'], ['u1', ''])[0]!)).toEqual({
      line: 2,
      externalId: 'u1',
      events: [{ name: 'imported', time: '2024-05-01T00:00:00Z' }],
      purchases: [{ product_id: 'welcome-pack', currency: 'EUR', price: 0, quantity: 1, time: '2024-05-01' }],
    });
  });

  it('checks currency and reserved property names', () => {
    const currency = createValidator({
      mapping: parseMapping({ purchases: [{ product_id: 'sku', currency: 'cur', price: 'p', time: 't' }] }),
    });
    const h = ['external_id', 'sku', 'cur', 'p', 't'];
    expect(currency(rowsOf(h, ['u1', 's', 'EURO', '1', '2024-01-01'])[0]!)).toMatchObject({
      code: 'bad_purchase',
      field: 'cur',
    });
    const reserved = createValidator({
      mapping: parseMapping({ events: [{ name: 'e', time: 't', properties: { event_name: 'p', $x: 'p' } }] }),
    });
    expect(reserved(rowsOf(['external_id', 'p', 't'], ['u1', 'v', '2024-01-01'])[0]!)).toMatchObject({
      code: 'bad_event',
      message: expect.stringMatching(/reserved/),
    });
  });

  it('throws a UsageError on the first row when the mapping names a column the file lacks', () => {
    const typo = createValidator({ mapping: parseMapping({ columns: { emial: 'email' } }) });
    expect(() => typo(rowsOf(['external_id', 'email'], ['u1', 'a'])[0]!)).toThrow(UsageError);
    try {
      typo(rowsOf(['external_id', 'email'], ['u1', 'a'])[0]!);
    } catch (err) {
      expect((err as UsageError).lines).toEqual([
        expect.stringMatching(
          /columns\.emial names column "emial", which the file does not have \(columns: external_id, email\)/,
        ),
      ]);
    }
  });

  it('counts data points for attributes, events and purchases', () => {
    const [row] = rowsOf(header, [
      'u1',
      'a@x.io',
      '',
      '',
      '',
      'pro',
      '',
      '2024-05-01',
      'sku',
      '1',
      '',
      '2024-05-01',
    ]);
    expect(estimateDataPoints(record(validate(row!)))).toBe(5); // email, plan, 1 event + its plan property, 1 purchase
  });
});
