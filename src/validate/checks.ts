import { CONTROL_CHARS, FORBIDDEN_KEYS, LIMITS, type RejectionCode } from '../../schemas/record.js';

/**
 * Hand-written checks on the hot path (every CSV cell goes through them). The same rules exist as zod
 * schemas in schemas/record.ts (externalIdSchema, attributesSchema); test/unit/validate-agreement
 * proves both give the same answer.
 */

/** Why one value or key is refused. A class so the hot path can tell it from a value with instanceof. */
export class Problem {
  constructor(
    readonly code: RejectionCode,
    readonly message: string,
    readonly field?: string,
  ) {}
}

/** Up to this many UTF-16 units a string cannot exceed 987 UTF-8 bytes (3 bytes per unit at most). */
const SAFE_ID_UNITS = Math.floor(LIMITS.externalIdBytes / 3);

export function checkExternalId(id: unknown, field = 'external_id'): Problem | undefined {
  if (id === undefined || id === null)
    return new Problem('missing_external_id', `${field} is missing`, field);
  if (typeof id !== 'string') {
    return new Problem(
      'external_id_not_string',
      `${field} must be a string, got ${typeof id} ${clip(JSON.stringify(id))}`,
      field,
    );
  }
  if (id.trim() === '') return new Problem('missing_external_id', `${field} is empty`, field);
  if (id.length > SAFE_ID_UNITS && Buffer.byteLength(id, 'utf8') > LIMITS.externalIdBytes) {
    return new Problem(
      'external_id_too_long',
      `${field} is ${Buffer.byteLength(id, 'utf8')} bytes; Braze allows ${LIMITS.externalIdBytes}`,
      field,
    );
  }
  if (CONTROL_CHARS.test(id)) {
    return new Problem('external_id_control_chars', `${field} contains control characters`, field);
  }
  return undefined;
}

/** An attribute name, nested key or property name. */
export function checkKey(key: string, field: string): Problem | undefined {
  if (FORBIDDEN_KEYS.has(key)) return new Problem('forbidden_key', `key "${key}" is not allowed`, field);
  if (key === '') return new Problem('bad_key', 'empty key', field);
  if (key.length > LIMITS.stringChars) {
    return new Problem('string_too_long', `key longer than ${LIMITS.stringChars} characters`, field);
  }
  return undefined;
}

export function stringTooLong(field: string, length: number): Problem {
  return new Problem(
    'string_too_long',
    `${field} is ${length} characters; Braze allows ${LIMITS.stringChars}`,
    field,
  );
}

/**
 * Walks a JSON value: string lengths, forbidden or empty keys, and nesting depth. Recursion stops
 * at LIMITS.depth, so a 10,000-level document cannot exhaust the stack.
 */
export function checkValue(value: unknown, field: string, depth: number): Problem | undefined {
  switch (typeof value) {
    case 'string':
      return value.length > LIMITS.stringChars ? stringTooLong(field, value.length) : undefined;
    case 'number':
      if (!Number.isFinite(value)) return new Problem('bad_value', `${field} is not a finite number`, field);
      return isUnsafeInteger(value) ? unsafeInteger(field, value) : undefined;
    case 'boolean':
      return undefined;
    case 'object':
      if (value === null) return undefined;
      if (depth >= LIMITS.depth) {
        return new Problem('too_deep', `${field} is nested deeper than ${LIMITS.depth} levels`, field);
      }
      return Array.isArray(value) ? checkArray(value, field, depth) : checkObject(value, field, depth);
    default:
      return new Problem('bad_value', `${field} holds a ${typeof value}`, field);
  }
}

function checkArray(items: unknown[], field: string, depth: number): Problem | undefined {
  for (let i = 0; i < items.length; i++) {
    const item = items[i];
    if (typeof item === 'string' && item.length <= LIMITS.stringChars) continue;
    const problem = checkValue(item, `${field}[${i}]`, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

function checkObject(obj: object, field: string, depth: number): Problem | undefined {
  const record = obj as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    const path = field === '' ? key : `${field}.${key}`;
    const problem = checkKey(key, path) ?? checkValue(record[key], path, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** JSON.parse already rounded it: 12345678901234567890 arrives as ...7000. Refuse rather than send that. */
export function isUnsafeInteger(value: number): boolean {
  return Number.isInteger(value) && !Number.isSafeInteger(value);
}

function unsafeInteger(field: string, value: number): Problem {
  return new Problem(
    'bad_value',
    `${field}: ${value} is beyond 2^53 and was already rounded when parsed; send it as a string`,
    field,
  );
}

export function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Keeps messages one line and short when they quote user data. */
export function clip(text: string | undefined, max = 60): string {
  if (text === undefined) return 'undefined';
  const flat = text.replace(/[\r\n]+/g, ' ');
  return flat.length > max ? `${flat.slice(0, max)}…` : flat;
}
