import type { ColumnType } from '../../schemas/mapping.js';
import { castForced, OMIT } from '../../src/validate/cast.js';
import { checkValue, Problem } from '../../src/validate/checks.js';

/**
 * Plain references for castAuto and castForced, written from the casting rules in the order a
 * reader would check them (README, "How cells are cast").
 */

export const FIELD = 'col';
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

export function referenceAuto(cell: string, field = FIELD): unknown {
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
    if (Array.isArray(parsed)) return comparable(checkValue(parsed, field, 1) ?? parsed, field);
  }
  return cell.length > 255 ? tooLong(cell) : cell;
}

export function referenceForced(cell: string, type: ColumnType): unknown {
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
export function comparable(value: unknown, field = FIELD): unknown {
  if (!(value instanceof Problem)) return value;
  if (value.code === 'string_too_long' && value.field === field) {
    return { problem: value.code, length: Number(/is (\d+) characters/.exec(value.message)?.[1]) };
  }
  return value.code === 'bad_value' ? { problem: value.code } : { problem: value.code, field: value.field };
}
