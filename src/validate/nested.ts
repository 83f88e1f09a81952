import { parseBrazeTime } from '../../schemas/values.js';

/**
 * Braze's rules for nested custom attributes (objects and arrays of objects; braze-api.md §1.5,
 * nested custom attributes page), shared by the validator, which rejects the row, and the emulator,
 * which does what Braze does: one invalid nested value drops every nested update of the request,
 * with a 201. Invalid: a null anywhere inside, a key with `$`, `.` or whitespace (`$time` alone
 * excepted), a key or string over 255 characters, a `$time` Braze cannot read or past the year 3000.
 */

export type OperatorKind = 'inc' | 'array' | 'objects' | 'nested';

/** `{"inc": n}`, `{"add"|"remove": [...]}`, `{"$add"|"$remove"|"$update": [...]}` or a plain nested object. */
export function operatorKind(v: Record<string, unknown>): OperatorKind {
  let keys = 0;
  let arrayOps = 0;
  let objectOps = 0;
  for (const key in v) {
    keys++;
    if (key === 'add' || key === 'remove') arrayOps++;
    else if (key === '$add' || key === '$remove' || key === '$update') objectOps++;
  }
  if (keys === 1 && 'inc' in v) return 'inc';
  if (keys > 0 && arrayOps === keys) return 'array';
  if (keys > 0 && objectOps === keys) return 'objects';
  return 'nested';
}

/** Objects and arrays of objects are capped at 100 KB (of JSON). */
export const NESTED_MAX_BYTES = 100 * 1024;
const MAX_CHARS = 255;
const MAX_YEAR = 3000;
/** Far past anything our validator lets through (32 levels): keeps the walk's recursion bounded. */
const MAX_DEPTH = 64;
const BAD_KEY_CHAR = /[\s.$]/;

type Json = Record<string, unknown>;
function isObject(v: unknown): v is Json {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A nested custom attribute: a plain object that is not an inc/add/remove operator, or an array holding an object. */
export function isNestedValue(value: unknown): boolean {
  if (Array.isArray(value)) return value.some(isObject);
  return isObject(value) && operatorKind(value) !== 'inc' && operatorKind(value) !== 'array';
}

/** Why Braze would refuse this nested value (and with it every nested update of the request), or undefined. */
export function nestedProblem(value: unknown): string | undefined {
  if (Array.isArray(value)) return objectItems(value, 'the array');
  if (!isObject(value)) return undefined;
  const kind = operatorKind(value);
  if (kind === 'inc' || kind === 'array') return undefined;
  if (kind === 'nested') return walkObject(value, 'the object', 1);
  const add = value['$add'];
  if (add !== undefined) return Array.isArray(add) ? objectItems(add, '$add') : '$add must be an array';
  const update = value['$update'];
  if (!Array.isArray(update)) return update === undefined ? undefined : '$update must be an array';
  for (const item of update) {
    const patch = isObject(item) ? item['$new_object'] : undefined;
    if (!isObject(patch)) return '$update items need a $new_object object';
    const problem = walkObject(patch, '$new_object', 1);
    if (problem) return problem;
  }
  return undefined;
}

function objectItems(items: unknown[], where: string): string | undefined {
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (!isObject(item)) return `${where} mixes objects with other values (item ${i})`;
    const problem = walkObject(item, `${where}[${i}]`, 1);
    if (problem) return problem;
  }
  return undefined;
}

function walkObject(obj: Json, path: string, depth: number): string | undefined {
  if (depth > MAX_DEPTH) return `${path} is nested deeper than ${MAX_DEPTH} levels`;
  for (const key in obj) {
    const at = `${path}.${key}`;
    if (key.length > MAX_CHARS) return `a key in ${path} is longer than ${MAX_CHARS} characters`;
    if (BAD_KEY_CHAR.test(key)) return `key "${key}" in ${path} holds a space, "." or "$"`;
    const problem = walkValue(obj[key], at, depth);
    if (problem) return problem;
  }
  return undefined;
}

function walkValue(value: unknown, at: string, depth: number): string | undefined {
  if (value === null) return `${at} is null (remove the key instead)`;
  if (typeof value === 'string')
    return value.length > MAX_CHARS ? `${at} is longer than ${MAX_CHARS} characters` : undefined;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const problem = walkValue(value[i], `${at}[${i}]`, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  if (!isObject(value)) return undefined;
  return '$time' in value ? timeProblem(value, at) : walkObject(value, at, depth + 1);
}

/** Dates inside nested attributes are written {"$time": "..."}; a bad one blocks the whole update. */
function timeProblem(value: Json, at: string): string | undefined {
  const time = value['$time'];
  if (Object.keys(value).length !== 1) return `${at}: {"$time": ...} holds nothing else`;
  if (typeof time !== 'string') return `${at}.$time must be a date string`;
  const t = parseBrazeTime(time);
  if (Number.isNaN(t)) return `${at}.$time ${JSON.stringify(time)} is not a date Braze reads`;
  return new Date(t).getUTCFullYear() > MAX_YEAR ? `${at}.$time is past the year ${MAX_YEAR}` : undefined;
}

/**
 * Buffer.byteLength(s, 'utf8') without Buffer, so the emulator's pure modules can use it: a
 * surrogate pair is 4 bytes, a lone surrogate 3 (it is written as U+FFFD).
 */
export function utf8Length(s: string): number {
  let bytes = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) bytes += 1;
    else if (c < 0x800) bytes += 2;
    else if (c >= 0xd800 && c <= 0xdbff && isLowSurrogate(s.charCodeAt(i + 1))) {
      bytes += 4;
      i++;
    } else bytes += 3;
  }
  return bytes;
}

function isLowSurrogate(c: number): boolean {
  return c >= 0xdc00 && c <= 0xdfff;
}

/** Size of a value as JSON, in bytes: what Braze's KB caps measure. */
export function jsonSize(value: unknown): number {
  return utf8Length(JSON.stringify(value) ?? '');
}
