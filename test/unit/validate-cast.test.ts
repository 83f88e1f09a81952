import { describe, expect, it } from 'vitest';
import { castAuto, castForced, coerceJson, OMIT } from '../../src/validate/cast.js';
import { Problem } from '../../src/validate/checks.js';

const auto = (cell: string) => castAuto(cell, 'col');

describe('castAuto: CSV cells the way Braze reads them', () => {
  it.each([
    ['', OMIT],
    ['   ', OMIT],
    ['\t', OMIT],
  ])('blank %j omits the field', (cell, expected) => {
    expect(auto(cell)).toBe(expected);
  });

  it.each(['null', 'NULL', 'Null'])('%s unsets the field (JSON null)', (cell) => {
    expect(auto(cell)).toBeNull();
  });

  it.each([
    ['true', true],
    ['TRUE', true],
    ['False', false],
    ['false', false],
  ])('%s is a boolean', (cell, expected) => {
    expect(auto(cell)).toBe(expected);
  });

  it.each([
    ['0', 0],
    ['42', 42],
    ['-3', -3],
    ['0.5', 0.5],
    ['-0.25', -0.25],
    ['2648.61', 2648.61],
    ['9007199254740991', Number.MAX_SAFE_INTEGER],
  ])('%s is a number', (cell, expected) => {
    expect(auto(cell)).toBe(expected);
  });

  it.each([
    '007', // leading zero: Braze warns it could be read as octal
    '0130',
    '00.5',
    '.5',
    '1.',
    '1e5',
    '1,000',
    ' 42',
    '+5',
    'nan',
    'NaN',
    'Infinity',
    '-',
    '9007199254740993', // beyond MAX_SAFE_INTEGER: a double would change it
    '123456789012345678901234567890',
    '3.14159265358979323846', // more digits than a double holds
  ])('%s stays a string', (cell) => {
    expect(auto(cell)).toBe(cell);
  });

  it.each(['2024-05-01', '2024-05-01T10:00:00Z', '2024-05-01 10:00:00', '05/01/2024'])(
    'the date %s stays a string',
    (cell) => {
      expect(auto(cell)).toBe(cell);
    },
  );

  it('reads a JSON array', () => {
    expect(auto('["a","b"]')).toEqual(['a', 'b']);
    expect(auto('[1, 2.5, true, null]')).toEqual([1, 2.5, true, null]);
    expect(auto('[]')).toEqual([]);
  });

  // The defect the differential test found first: castAuto tested the length before the bracket,
  // so every 4- or 5-character array cell was sent as text while longer ones became arrays.
  it.each([
    ['["a"]', ['a']],
    ['[12]', [12]],
    ['[1,2]', [1, 2]],
    ['[{}]', [{}]],
    ['[[]]', [[]]],
    ['["ß"]', ['ß']],
    ['["ab"]', ['ab']],
  ])('%s is an array whatever its length', (cell, expected) => {
    expect(auto(cell)).toEqual(expected);
  });

  // Open cases decided for the README's casting table: Braze documents numbers without spaces
  // and booleans as true/false, so whitespace or another notation makes a cell text, sent as is.
  it.each([
    ' 69 ', // padded number (Braze's Lambda sends 69)
    '69 ',
    '.5', // not JSON's decimal grammar (the Lambda sends 0.5)
    '5.',
    'True ', // trailing space (the Lambda sends true)
    " ['a', 'b']",
    "['a', 'b']", // a Python list (the Lambda sends an array); JSON needs double quotes
    '٦٩', // Arabic-Indic digits
    '1234567890123456789', // 19 digits: a double would change it (the Lambda does)
    '123456789012345678901234',
  ])('%j stays text', (cell) => {
    expect(auto(cell)).toBe(cell);
  });

  it('keeps something that only looks like an array as a string', () => {
    expect(auto('[not json]')).toBe('[not json]');
    expect(auto('[a, b')).toBe('[a, b');
  });

  it('refuses arrays nested too deep or holding forbidden keys', () => {
    const deep = `${'['.repeat(10_000)}${']'.repeat(10_000)}`;
    expect(auto(deep)).toMatchObject({ code: 'too_deep', field: expect.stringMatching(/^col\[0\]/) });
    expect(auto('[{"__proto__":{"x":1}}]')).toMatchObject({ code: 'forbidden_key' });
  });

  it('keeps strings up to 255 characters and refuses longer ones', () => {
    expect(auto('x'.repeat(255))).toBe('x'.repeat(255));
    const long = auto('x'.repeat(256));
    expect(long).toBeInstanceOf(Problem);
    expect(long).toMatchObject({ code: 'string_too_long', field: 'col' });
    expect(auto(`["${'x'.repeat(256)}"]`)).toMatchObject({ code: 'string_too_long', field: 'col[0]' });
  });

  it('keeps other text exactly, inner spaces and case included', () => {
    expect(auto(' Ada Lovelace ')).toBe(' Ada Lovelace ');
    expect(auto('Zoë')).toBe('Zoë');
  });
});

describe('castForced: types from the mapping file', () => {
  const forced = (cell: string, type: Parameters<typeof castForced>[1], sep?: string) =>
    castForced(cell, type, 'col', sep);

  it('string keeps everything as typed, even null/true/007', () => {
    for (const cell of ['007', 'null', 'true', '1e5', '[1]']) expect(forced(cell, 'string')).toBe(cell);
    expect(forced('', 'string')).toBe(OMIT);
  });

  it('integer accepts leading zeros and signs, refuses fractions and huge values', () => {
    expect(forced('007', 'integer')).toBe(7);
    expect(forced(' -12 ', 'integer')).toBe(-12);
    expect(forced('1.5', 'integer')).toMatchObject({ code: 'bad_value', field: 'col' });
    expect(forced('9007199254740993', 'integer')).toMatchObject({ code: 'bad_value' });
    expect(forced('NULL', 'integer')).toBeNull();
  });

  it('float accepts decimals and exponents', () => {
    expect(forced('1.50', 'float')).toBe(1.5);
    expect(forced('.5', 'float')).toBe(0.5);
    expect(forced('1e3', 'float')).toBe(1000);
    expect(forced('1,5', 'float')).toMatchObject({ code: 'bad_value' });
  });

  it('boolean accepts true/false, yes/no, 1/0', () => {
    expect([forced('YES', 'boolean'), forced('1', 'boolean'), forced('no', 'boolean')]).toEqual([
      true,
      true,
      false,
    ]);
    expect(forced('maybe', 'boolean')).toMatchObject({
      code: 'bad_value',
      message: expect.stringMatching(/true or false/),
    });
  });

  it('date keeps valid dates as strings and refuses others', () => {
    expect(forced('2024-05-01T10:00:00.123+02:00', 'date')).toBe('2024-05-01T10:00:00.123+02:00');
    expect(forced('2024-13-01', 'date')).toMatchObject({ code: 'bad_value' });
    expect(forced('yesterday', 'date')).toMatchObject({ code: 'bad_value' });
  });

  it('array reads JSON, or splits on a separator', () => {
    expect(forced('["a","b"]', 'array')).toEqual(['a', 'b']);
    expect(forced('gold; referral ;', 'array', ';')).toEqual(['gold', 'referral']);
    expect(forced('a,b', 'array')).toMatchObject({ code: 'bad_value' });
  });
});

describe('coerceJson: forced types on JSONL values', () => {
  it('casts strings like CSV cells and checks other values against the type', () => {
    expect(coerceJson('42', 'integer', 'n')).toBe(42);
    expect(coerceJson(42, 'integer', 'n')).toBe(42);
    expect(coerceJson(4.2, 'integer', 'n')).toMatchObject({ code: 'bad_value' });
    expect(coerceJson(true, 'boolean', 'b')).toBe(true);
    expect(coerceJson(['a'], 'array', 'a')).toEqual(['a']);
    expect(coerceJson(null, 'float', 'f')).toBeNull();
    expect(coerceJson({ a: 1 }, 'auto', 'o')).toEqual({ a: 1 });
  });
});
