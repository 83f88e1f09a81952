import type { ColumnType } from '../../schemas/mapping.js';
import { LIMITS } from '../../schemas/record.js';
import { isBrazeTime, plainNumber, readFloat, readInteger } from '../../schemas/values.js';
import { checkValue, clip, Problem, stringTooLong } from './checks.js';

/**
 * CSV cells -> JSON values, the way Braze's CSV importer and its user-import Lambda read them
 * (braze-api.md §5.2, §6): blank omits the field, `null` unsets it, plain decimals become numbers,
 * true/false become booleans, `[...]` becomes an array, anything else (dates included) stays a string.
 */

/** "Leave this field out": an empty cell must not overwrite what Braze already has. */
export const OMIT: unique symbol = Symbol('omit');
export type Cast = unknown;

function isBlank(cell: string): boolean {
  if (cell.length === 0) return true;
  const c = cell.charCodeAt(0);
  return (c <= 32 || c >= 0x80) && cell.trim() === '';
}

export function castAuto(cell: string, field: string): Cast {
  if (isBlank(cell)) return OMIT;
  const len = cell.length;
  const c = cell.charCodeAt(0);
  if ((c >= 48 && c <= 57) || c === 45) {
    const n = plainNumber(cell);
    if (n !== undefined) return n;
  } else if (len === 4 || len === 5) {
    const lower = c | 32;
    if (lower === 110 || lower === 116 || lower === 102) {
      const word = cell.toLowerCase();
      if (word === 'null') return null;
      if (word === 'true') return true;
      if (word === 'false') return false;
    }
  } else if (c === 91 && cell.charCodeAt(len - 1) === 93) {
    const array = parseJsonArray(cell, field);
    if (array !== undefined) return array;
  }
  return len > LIMITS.stringChars ? stringTooLong(field, len) : cell;
}

/** A JSON array, or undefined when the cell only looks like one (then it is sent as a string). */
function parseJsonArray(cell: string, field: string): unknown[] | Problem | undefined {
  let parsed: unknown;
  try {
    parsed = JSON.parse(cell);
  } catch {
    return undefined;
  }
  if (!Array.isArray(parsed)) return undefined;
  return checkValue(parsed, field, 1) ?? parsed;
}

const TRUE_WORDS = new Set(['true', '1', 'yes']);
const FALSE_WORDS = new Set(['false', '0', 'no']);

/** A column whose type the mapping forces. Blank still omits; `null` still unsets (except for strings). */
export function castForced(cell: string, type: ColumnType, field: string, separator?: string): Cast {
  if (type === 'auto') return castAuto(cell, field);
  if (isBlank(cell)) return OMIT;
  if (type === 'string') return cell.length > LIMITS.stringChars ? stringTooLong(field, cell.length) : cell;
  const text = cell.trim();
  if (text.length === 4 && text.toLowerCase() === 'null') return null;
  switch (type) {
    case 'integer':
      return readInteger(text) ?? badValue(field, cell, 'an integer');
    case 'float':
      return readFloat(text) ?? badValue(field, cell, 'a number');
    case 'boolean': {
      const word = text.toLowerCase();
      if (TRUE_WORDS.has(word)) return true;
      if (FALSE_WORDS.has(word)) return false;
      return badValue(field, cell, 'true or false');
    }
    case 'date':
      return isBrazeTime(text) ? text : badValue(field, cell, 'an ISO-8601 date');
    case 'array':
      return castArray(text, field, separator);
  }
}

function castArray(text: string, field: string, separator: string | undefined): Cast {
  if (separator !== undefined) {
    const items = text
      .split(separator)
      .map((s) => s.trim())
      .filter((s) => s !== '');
    return checkValue(items, field, 1) ?? items;
  }
  const array = text.startsWith('[') ? parseJsonArray(text, field) : undefined;
  return array ?? badValue(field, text, 'a JSON array such as ["a","b"]');
}

function badValue(field: string, cell: string, expected: string): Problem {
  return new Problem('bad_value', `${field}: expected ${expected}, got ${clip(JSON.stringify(cell))}`, field);
}

/**
 * A JSON value (flat JSONL line) in a column whose type the mapping forces: strings are cast like
 * CSV cells; other JSON values must already have the type.
 */
export function coerceJson(value: unknown, type: ColumnType, field: string, separator?: string): Cast {
  if (typeof value === 'string') return type === 'auto' ? value : castForced(value, type, field, separator);
  if (value === null || type === 'auto') return value;
  const ok =
    (type === 'integer' && Number.isSafeInteger(value)) ||
    (type === 'float' && typeof value === 'number') ||
    (type === 'boolean' && typeof value === 'boolean') ||
    (type === 'array' && Array.isArray(value));
  return ok
    ? value
    : badValue(field, JSON.stringify(value) ?? '', type === 'float' ? 'a number' : `a ${type}`);
}
