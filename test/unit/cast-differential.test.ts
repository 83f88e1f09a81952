import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { COLUMN_TYPES, type ColumnType } from '../../schemas/mapping.js';
import { castAuto, castForced, isBlank, OMIT } from '../../src/validate/cast.js';
import { checkValue, Problem } from '../../src/validate/checks.js';
import { cell, settings } from '../helpers/property.js';

/**
 * castAuto and castForced are hand-tuned (one branch per first character, a trim only when the
 * first character can be whitespace). The references below state the rules in the plainest way,
 * in the order a reader would check them, and the property tests hold the fast code to them.
 */

const FIELD = 'col';
const MAX_SAFE = BigInt(Number.MAX_SAFE_INTEGER);
const tooLong = (cell: string) => ({ problem: 'string_too_long', length: cell.length });

/** A decimal a double holds exactly: an integer within ±(2^53-1), or at most 15 significant digits. */
function exactDecimal(cell: string): boolean {
  const m = /^-?(0|[1-9][0-9]*)(?:\.([0-9]+))?$/.exec(cell);
  if (!m) return false;
  if (m[2] === undefined) return BigInt(cell) <= MAX_SAFE && BigInt(cell) >= -MAX_SAFE;
  const significant = `${m[1]}${m[2]}`.replace(/^0+/, '').replace(/0+$/, '');
  return significant.length <= 15;
}

function referenceAuto(cell: string): unknown {
  if (cell.trim() === '') return OMIT;
  const lower = cell.toLowerCase();
  if (lower === 'null') return null;
  if (lower === 'true') return true;
  if (lower === 'false') return false;
  if (exactDecimal(cell)) return Number(cell);
  if (cell.startsWith('[') && cell.endsWith(']')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(cell);
    } catch {
      parsed = undefined;
    }
    if (Array.isArray(parsed)) return comparable(checkValue(parsed, FIELD, 1) ?? parsed);
  }
  return cell.length > 255 ? tooLong(cell) : cell;
}

function referenceForced(cell: string, type: ColumnType): unknown {
  if (type === 'auto') return referenceAuto(cell);
  if (cell.trim() === '') return OMIT;
  if (type === 'string') return cell.length > 255 ? tooLong(cell) : cell;
  const t = cell.trim();
  if (t.toLowerCase() === 'null') return null;
  const bad = { problem: 'bad_value' };
  switch (type) {
    case 'integer':
      return /^[+-]?[0-9]+$/.test(t) && Math.abs(Number(t)) <= Number.MAX_SAFE_INTEGER ? Number(t) : bad;
    case 'float': {
      const decimal = /^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)([eE][+-]?[0-9]+)?$/.test(t);
      return decimal && Number.isFinite(Number(t)) ? Number(t) : bad;
    }
    case 'boolean':
      if (['true', '1', 'yes'].includes(t.toLowerCase())) return true;
      return ['false', '0', 'no'].includes(t.toLowerCase()) ? false : bad;
    default:
      // date and array: the same rule functions on both sides; these types are here for their
      // blank and null handling.
      return comparable(castForced(cell, type, FIELD));
  }
}

/** Problems compared by what they say (code, and the length for too-long strings). */
function comparable(value: unknown): unknown {
  if (!(value instanceof Problem)) return value;
  if (value.code === 'string_too_long' && value.field === FIELD) {
    return { problem: value.code, length: Number(/is (\d+) characters/.exec(value.message)?.[1]) };
  }
  return value.code === 'bad_value' ? { problem: value.code } : { problem: value.code, field: value.field };
}

describe('castAuto against its reference', () => {
  it('gives the same value for every generated cell (10,000 cases, lengths 0-16)', () => {
    fc.assert(
      fc.property(cell, (c) => {
        expect(comparable(castAuto(c, FIELD))).toEqual(referenceAuto(c));
      }),
      settings,
    );
  });

  it('agrees on cells padded past 255 characters', () => {
    fc.assert(
      fc.property(cell, fc.integer({ min: 240, max: 270 }), (c, width) => {
        const long = c.padStart(width, '1');
        expect(comparable(castAuto(long, FIELD))).toEqual(referenceAuto(long));
      }),
      settings,
    );
  });
});

describe('castForced against its reference', () => {
  it('gives the same value for every generated cell and column type', () => {
    fc.assert(
      fc.property(cell, fc.constantFrom(...COLUMN_TYPES), (c, type) => {
        expect(comparable(castForced(c, type, FIELD))).toEqual(referenceForced(c, type));
      }),
      settings,
    );
  });
});

describe('isBlank against String#trim', () => {
  it('is true exactly when trim() leaves nothing', () => {
    fc.assert(
      fc.property(cell, (c) => {
        expect(isBlank(c)).toBe(c.trim() === '');
      }),
      settings,
    );
  });
});
