import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { timeSchema } from '../../schemas/record.js';
import {
  isBrazeTime,
  isPlainDate,
  isPlainDateReference,
  parseBrazeTime,
  plainNumber,
  readFloat,
  readInteger,
} from '../../schemas/values.js';
import { validateEvent } from '../../src/emulator/validate.js';
import { castForced } from '../../src/validate/cast.js';
import { countryCode, countryCodeReference } from '../../src/validate/countries.js';
import { settings } from '../helpers/property.js';

/** One grammar for dates and numbers: the validator, the mapping types and the emulator agree. */

const event = (time: string) => ({ external_id: 'u', name: 'e', time });

describe('dates Braze reads', () => {
  it.each([
    ['2013-07-16T19:20:30+01:00', Date.UTC(2013, 6, 16, 18, 20, 30)],
    ['2013-07-16T19:20:30.123Z', Date.UTC(2013, 6, 16, 19, 20, 30, 123)],
    ['2013-07-16T19:20:30:123-0200', Date.UTC(2013, 6, 16, 21, 20, 30, 123)],
    ['2013-07-16 19:20:30', Date.UTC(2013, 6, 16, 19, 20, 30)],
    ['2013-07-16T19:20', Date.UTC(2013, 6, 16, 19, 20)],
    ['2024-05-01T10:00+02', Date.UTC(2024, 4, 1, 8, 0)],
    ['2013-07-16', Date.UTC(2013, 6, 16)],
    ['07/16/2013', Date.UTC(2013, 6, 16)],
    ['2024-02-29', Date.UTC(2024, 1, 29)],
    ['2000-02-29', Date.UTC(2000, 1, 29)],
    // ddd MM dd HH:mm:ss.TZD YYYY, with the month as a number or a name
    ['Wed 05 01 10:00:00.+02:00 2024', Date.UTC(2024, 4, 1, 8, 0, 0)],
    ['Wed May 01 10:00:00 +0200 2024', Date.UTC(2024, 4, 1, 8, 0, 0)],
    ['Tue Jul 16 19:20:30 UTC 2013', Date.UTC(2013, 6, 16, 19, 20, 30)],
    ['Tue Jul 16 19:20:30 2013', Date.UTC(2013, 6, 16, 19, 20, 30)],
  ])('%s', (text, expected) => {
    expect(parseBrazeTime(text)).toBe(expected);
  });

  it('reads the years 0-99 as written, not as 1900-1999', () => {
    expect(new Date(parseBrazeTime('0050-01-01')).getUTCFullYear()).toBe(50);
  });

  it.each([
    '1',
    'now',
    '',
    '2013-13-01',
    '2013-07-16T25:00:00Z',
    '2024-02-31',
    '2023-02-29',
    '1900-02-29',
    '2024-04-31',
    '02/30/2024',
    '2024-05-01T10:00:60Z',
    '2024-05-01T10:00:00+24:00',
    '2024-05-01Z',
    '2024-05-01T10:00:00 +02:00',
    'Wed 13 01 10:00:00 +0200 2024',
    'Wed Foo 01 10:00:00 +0200 2024',
    '٢٠٢٤-٠٥-٠١',
  ])('rejects %j', (text) => {
    expect(parseBrazeTime(text)).toBeNaN();
  });

  it('the validator, the date column type and the emulator give the same answer (2024-02-31, +02)', () => {
    for (const text of ['2024-02-31', '2024-05-01T10:00+02', '2024-05-01T10:00:00.5-0330', '31/12/2024']) {
      const ok = isBrazeTime(text);
      expect(timeSchema.safeParse(text).success).toBe(ok);
      expect(castForced(text, 'date', 'd') === text).toBe(ok);
      expect(validateEvent(event(text)) === null).toBe(ok);
    }
  });

  it('dob takes YYYY-MM-DD only, on a real day', () => {
    expect(isPlainDate('1980-12-21')).toBe(true);
    expect(isPlainDate('1980-02-30')).toBe(false);
    expect(isPlainDate('1980-12-21T00:00:00Z')).toBe(false);
    expect(isPlainDate('12/21/1980')).toBe(false);
  });
});

describe('numbers', () => {
  it.each([
    ['42', 42],
    ['-0.25', -0.25],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
    ['0.100000000000000', 0.1],
  ])('untyped cell %s is a number', (cell, n) => {
    expect(plainNumber(cell)).toBe(n);
  });

  it.each(['007', '.5', '5.', '1e5', '+5', ' 69 ', '0x10', '٦٩', '9007199254740993', '1234567890.1234567'])(
    'untyped cell %j stays text',
    (cell) => {
      expect(plainNumber(cell)).toBeUndefined();
    },
  );

  it('typed columns read decimal only: 0x10, 0b11, 1_000, Infinity are refused', () => {
    for (const text of ['0x10', '0b11', '0o7', '1_000', 'Infinity', '-Infinity', 'NaN', '', '1e400']) {
      expect(readFloat(text)).toBeUndefined();
      expect(readInteger(text)).toBeUndefined();
    }
    expect(readFloat(' .5 ')).toBe(0.5);
    expect(readFloat('1e3')).toBe(1000);
    expect(readInteger('007')).toBe(7);
    expect(readInteger('1.0')).toBeUndefined();
  });
});

/**
 * The dob and country checks run on every row and, in the emulator, twice on every object; each has
 * a shortcut by character codes, checked here against its plain version.
 */
describe('shortcuts against their plain versions', () => {
  // Strings near a date: digits, hyphens, the characters either side of the digits (/ and :) and a few others, mostly ten long, with real dates among them.
  const dateLike = fc.oneof(
    fc
      .array(fc.constantFrom(...'0123456789-', '0', '1', '2', ' ', 'x', '\u0660', '+', '.', '/', ':'), {
        minLength: 8,
        maxLength: 12,
      })
      .map((cs) => cs.join('')),
    fc
      .tuple(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 99 }),
        fc.integer({ min: 0, max: 99 }),
      )
      .map(
        ([y, m, d]) =>
          `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`,
      ),
    // A date's shape with one character swapped for another, a digit's neighbours among them.
    fc
      .tuple(fc.integer({ min: 0, max: 9 }), fc.constantFrom(...'0123456789-/: x\u0660'))
      .map(([at, c]) => `2024-06-15`.slice(0, at) + c + `2024-06-15`.slice(at + 1)),
    fc.string({ maxLength: 12 }),
  );

  it('isPlainDate says what the regex says, on 10,000 strings', () => {
    fc.assert(
      fc.property(dateLike, (s) => {
        expect(isPlainDate(s)).toBe(isPlainDateReference(s));
      }),
      settings,
    );
  });

  it('isPlainDate on the edges of the calendar', () => {
    for (const [s, ok] of [
      ['2024-02-29', true],
      ['2023-02-29', false],
      ['1900-02-29', false],
      ['2000-02-29', true],
      ['2024-04-31', false],
      ['2024-12-31', true],
      ['2024-13-01', false],
      ['2024-00-10', false],
      ['2024-01-00', false],
      ['0000-01-01', true],
      ['2024-1-015', false],
      ['\u0662024-01-01', false],
    ] as const) {
      expect(isPlainDate(s), s).toBe(ok);
      expect(isPlainDateReference(s), s).toBe(ok);
    }
  });

  it('countryCode agrees with its plain version on every pair of capitals', () => {
    for (let a = 65; a <= 90; a++) {
      for (let b = 65; b <= 90; b++) {
        const s = String.fromCharCode(a, b);
        expect(countryCode(s), s).toBe(countryCodeReference(s));
      }
    }
  });

  it('countryCode agrees with its plain version on 10,000 strings', () => {
    const near = fc.oneof(
      fc.array(fc.constantFrom(...'AUSJPaus ', 'ß', '\u00a0'), { maxLength: 4 }).map((cs) => cs.join('')),
      fc.constantFrom('Australia', ' australia ', 'japan', 'JP ', 'jp', 'Jp', 'XX', 'UK', 'GB'),
      fc.string({ maxLength: 4 }),
    );
    fc.assert(
      fc.property(near, (s) => {
        expect(countryCode(s)).toBe(countryCodeReference(s));
      }),
      settings,
    );
  });
});
