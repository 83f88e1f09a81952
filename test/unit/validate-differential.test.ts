import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { RawRow, Rejection, UserRecord } from '../../schemas/record.js';
import { checkAttribute } from '../../src/validate/attribute-rules.js';
import { OMIT } from '../../src/validate/cast.js';
import { checkExternalId } from '../../src/validate/checks.js';
import { createValidator, isRejection } from '../../src/validate/index.js';
import { TEXT_FIELDS } from '../../src/validate/profile-fields.js';
import { cell, STEERING, settings } from '../helpers/property.js';
import { referenceAuto } from '../helpers/reference-cast.js';

/**
 * The validator's fast paths (a CSV row through its compiled plan, a flat JSONL record through
 * hand-written checks, checkExternalId's byte-count shortcut) against references that apply the
 * rules one by one in the plainest way: same record, or the same first reason (code and field).
 */

type Outcome = { attributes: Record<string, unknown> } | { code: string; field: string | undefined };
const outcome = (r: UserRecord | Rejection): Outcome =>
  isRejection(r) ? { code: r.code, field: r.field } : { attributes: r.attributes ?? {} };
const reject = (code: string, field?: string): Outcome => ({ code, field });

// biome-ignore lint/suspicious/noControlCharactersInRegex: control characters are what it finds
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

function referenceId(id: unknown, field = 'external_id'): Outcome | undefined {
  if (id === undefined || id === null) return reject('missing_external_id', field);
  if (typeof id !== 'string') return reject('external_id_not_string', field);
  if (id.trim() === '') return reject('missing_external_id', field);
  if (Buffer.byteLength(id, 'utf8') > 987) return reject('external_id_too_long', field);
  return CONTROL.test(id) ? reject('external_id_control_chars', field) : undefined;
}

function referenceKey(key: string, field: string): Outcome | undefined {
  if (['__proto__', 'constructor', 'prototype'].includes(key)) return reject('forbidden_key', field);
  if (key === '') return reject('bad_key', field);
  return key.length > 255 ? reject('string_too_long', field) : undefined;
}

/** Braze's own rules (profile fields, nested values) are shared, not the subject here. */
function braze(name: string, value: unknown, field: string): Outcome | undefined {
  const problem = checkAttribute(name, value, field);
  return problem ? reject(problem.code, problem.field) : undefined;
}

/** A CSV row without a mapping: each column in header order, cast, then named, then Braze's rules. */
function referenceCsvRow(values: Record<string, string>, header: string[]): Outcome {
  const bad = referenceId(values['external_id']);
  if (bad) return bad;
  const attributes: Record<string, unknown> = {};
  for (const name of header) {
    if (name === 'external_id') continue;
    const cell = values[name]!;
    let value: unknown;
    if (TEXT_FIELDS.has(name)) {
      value = cell.trim() === '' ? OMIT : cell.toLowerCase() === 'null' ? null : cell;
      if (typeof value === 'string' && value.length > 255) return reject('string_too_long', name);
    } else value = referenceAuto(cell, name);
    if (value === OMIT) continue;
    if (typeof value === 'object' && value !== null && 'problem' in value) {
      return reject((value as { problem: string }).problem, (value as { field?: string }).field ?? name);
    }
    const problem = referenceKey(name, name) ?? braze(name, value, name);
    if (problem) return problem;
    attributes[name] = value;
  }
  return { attributes };
}

const NAMES = ['a', 'b', 'tags', 'phone', 'gender', 'country', 'dob', 'constructor', '', 'k'.repeat(256)];
const SPECIAL = [
  'F',
  'Male',
  'AU',
  'Narnia',
  '1980-01-01',
  '[{"a":null}]',
  '[{"a":1}]',
  '15551234567',
  'x'.repeat(256),
];

describe('a CSV row through the compiled plan, against the rules one by one', () => {
  const id = fc.oneof(cell, fc.constantFrom('u1', 'x'.repeat(988), 'é'.repeat(494), 'bad\u0001id'));
  const row = fc.uniqueArray(fc.constantFrom(...NAMES), { minLength: 1, maxLength: 4 }).chain((names) =>
    fc.tuple(
      fc.constant<string[]>(['external_id', ...names]),
      id,
      fc.array(fc.oneof(cell, fc.constantFrom(...SPECIAL)), {
        minLength: names.length,
        maxLength: names.length,
      }),
    ),
  );

  it('gives the same record or the same first reason (10,000 rows)', () => {
    fc.assert(
      fc.property(row, ([header, externalId, cells]) => {
        const values: Record<string, string> = { external_id: externalId };
        header.slice(1).forEach((name, i) => {
          values[name] = cells[i]!;
        });
        const raw: RawRow = {
          line: 2,
          kind: 'csv',
          cells: [externalId, ...header.slice(1).map((_, i) => cells[i]!)],
          header,
        };
        expect(outcome(createValidator({ format: 'csv' })(raw))).toEqual(referenceCsvRow(values, header));
      }),
      settings,
    );
  });
});

/** JSON values as JSON.parse gives them: the checks on strings, numbers, keys and depth. */
function referenceValue(v: unknown, field: string, depth: number): Outcome | undefined {
  if (typeof v === 'string') return v.length > 255 ? reject('string_too_long', field) : undefined;
  if (typeof v === 'number') {
    const unsafe = !Number.isFinite(v) || (Number.isInteger(v) && !Number.isSafeInteger(v));
    return unsafe ? reject('bad_value', field) : undefined;
  }
  if (typeof v === 'boolean' || v === null) return undefined;
  if (depth >= 32) return reject('too_deep', field);
  if (Array.isArray(v)) {
    for (let i = 0; i < v.length; i++) {
      const problem = referenceValue(v[i], `${field}[${i}]`, depth + 1);
      if (problem) return problem;
    }
    return undefined;
  }
  for (const [key, inner] of Object.entries(v as object)) {
    const path = `${field}.${key}`;
    const problem = referenceKey(key, path) ?? referenceValue(inner, path, depth + 1);
    if (problem) return problem;
  }
  return undefined;
}

/** A flat JSONL record without a mapping: each key in order, named, blank strings left out, then checked. */
function referenceFlat(obj: Record<string, unknown>): Outcome {
  const bad = referenceId(obj['external_id']);
  if (bad) return bad;
  const attributes: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(obj)) {
    if (key === 'external_id') continue;
    const keyProblem = referenceKey(key, key);
    if (keyProblem) return keyProblem;
    if (typeof value === 'string' && value.trim() === '') continue;
    const problem = referenceValue(value, key, 1) ?? braze(key, value, key);
    if (problem) return problem;
    attributes[key] = value;
  }
  return { attributes };
}

describe('a flat JSONL record through the hand-written checks, against the rules one by one', () => {
  const text = fc.string({ unit: fc.constantFrom(...STEERING), maxLength: 8 });
  const deep = fc.integer({ min: 29, max: 33 }).map((k) => JSON.parse(`${'['.repeat(k)}1${']'.repeat(k)}`));
  const json = fc.oneof(
    fc.jsonValue({ maxDepth: 3 }),
    text,
    fc.constantFrom(...SPECIAL, 2 ** 60, -0.5, 15551234567),
    deep,
  );
  const record = fc
    .tuple(
      fc.oneof(text, fc.constant(42), fc.constant(null)),
      fc.dictionary(fc.oneof(fc.constantFrom(...NAMES), text), json, { maxKeys: 4 }),
    )
    .map(
      ([id, rest]) => ({ external_id: id, ...JSON.parse(JSON.stringify(rest)) }) as Record<string, unknown>,
    );

  it('gives the same record or the same first reason (10,000 records)', () => {
    fc.assert(
      fc.property(record, (obj) => {
        const raw: RawRow = { line: 1, kind: 'jsonl', value: obj };
        expect(outcome(createValidator({ format: 'jsonl' })(raw))).toEqual(referenceFlat(obj));
      }),
      settings,
    );
  });
});

describe('checkExternalId against the rules one by one', () => {
  it('gives the same answer around the 987-byte limit and for every short id', () => {
    const long = fc
      .tuple(fc.constantFrom('x', 'é', '€', '😀'), fc.integer({ min: 240, max: 990 }), cell)
      .map(([unit, n, tail]) => unit.repeat(Math.ceil(n / unit.length)) + tail);
    const id = fc.oneof(cell, long, fc.constantFrom(undefined, null, 42, ['u1']));
    fc.assert(
      fc.property(id, (value) => {
        const problem = checkExternalId(value);
        expect(problem ? reject(problem.code, problem.field) : undefined).toEqual(referenceId(value));
      }),
      settings,
    );
  });
});
