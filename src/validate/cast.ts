import type { ColumnType } from '../../schemas/mapping.js';
import { LIMITS } from '../../schemas/record.js';
import { isBrazeTime, plainNumber, readFloat, readInteger } from '../../schemas/values.js';
import { checkValue, clip, Problem, stringTooLong } from './checks.js';

/**
 * CSV cells -> JSON values, by the rules Braze documents for CSV imports (braze-api.md §5.2): blank
 * omits the field, `null` unsets it, decimal numbers become numbers, true/false become booleans,
 * everything else (dates included) stays the exact text. Beyond the dashboard importer, a cell
 * holding a JSON array becomes an array. Braze's user-import Lambda differs on purpose in places
 * (padded numbers, `.5`, Python lists, 19-digit numbers): the README's casting table says where
 * and why.
 */

/** "Leave this field out": an empty cell must not overwrite what Braze already has. */
export const OMIT: unique symbol = Symbol('omit');
export type Cast = unknown;

/** Empty or whitespace only (String#trim's whitespace); only a first character that can be whitespace is looked at twice. */
export function isBlank(cell: string): boolean {
  if (cell.length === 0) return true;
  const c = cell.charCodeAt(0);
  return (c <= 32 || c >= 0x80) && cell.trim() === '';
}

/**
 * The first character alone picks the one rule that can apply (the cell's length never does, so
 * `[1]` and `[12]` are both arrays); a cell no rule reads is text. No character starts two rules.
 */
export function castAuto(cell: string, field: string): Cast {
  const c = cell.charCodeAt(0);
  // - or 0-9
  if (c === 45 || (c >= 48 && c <= 57)) return plainNumber(cell) ?? textCell(cell, field);
  // [
  if (c === 91)
    return (cell.endsWith(']') ? parseJsonArray(cell, field) : undefined) ?? textCell(cell, field);
  // An ASCII letter | 32 is the letter in lower case.
  switch (c | 32) {
    case 110: // n or N
      return isWord(cell, 'null') ? null : textCell(cell, field);
    case 116: // t or T
      return isWord(cell, 'true') ? true : textCell(cell, field);
    case 102: // f or F
      return isWord(cell, 'false') ? false : textCell(cell, field);
    default:
      return isBlank(cell) ? OMIT : textCell(cell, field);
  }
}

/** A text profile field (phone, email, dob...): blank omits, `null` unsets, anything else is the text. */
export function castText(cell: string, field: string): Cast {
  if (isBlank(cell)) return OMIT;
  return isWord(cell, 'null') ? null : textCell(cell, field);
}

/** `word` in any case, and nothing around it: "True " with a space is text, as Braze's docs read. */
function isWord(cell: string, word: string): boolean {
  return cell.length === word.length && cell.toLowerCase() === word;
}

function textCell(cell: string, field: string): string | Problem {
  return cell.length > LIMITS.stringChars ? stringTooLong(field, cell.length) : cell;
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
  if (type === 'string') return textCell(cell, field);
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
