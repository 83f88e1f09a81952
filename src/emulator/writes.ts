/**
 * What Braze writes for one valid attributes object (shared/braze-api.md §1.5; user attributes
 * object and nested custom attributes pages), before the store applies it and the bill is counted:
 * - a profile field Braze ignores (gender "Male", a dob that is not YYYY-MM-DD, an unknown time
 *   zone) is left out; a country it cannot map is written as null; a mapped one as its code;
 * - one invalid nested value anywhere in the request drops every nested update of the request;
 * - a nested value over 100 KB is dropped on its own (the request still answers 201).
 * Pure: the rules live in src/validate, shared with the importer's validator.
 */
import { isNestedValue, jsonSize, NESTED_MAX_BYTES, nestedProblem } from '../validate/nested.js';
import {
  hasFieldRule,
  IDENTITY_KEYS,
  profileFieldStoreProblem,
  storedFieldValue,
} from '../validate/profile-fields.js';
import type { JsonObject } from './json.js';

export interface WriteCounts {
  /** Profile-field values Braze ignores. */
  fieldsIgnored: number;
  /** Nested updates dropped: by an invalid nested value in the request, or over 100 KB. */
  nestedDropped: number;
}

/** A custom attribute holding a nested value (profile fields such as push_tokens are not custom). */
function isCustomNested(key: string, value: unknown): boolean {
  return !IDENTITY_KEYS.has(key) && !hasFieldRule(key) && isNestedValue(value);
}

/** True when any nested value of these (valid) attributes objects is one Braze refuses. */
export function requestDropsNested(objects: readonly JsonObject[]): boolean {
  for (const o of objects) {
    for (const key in o) {
      const value = o[key];
      if (isCustomNested(key, value) && nestedProblem(value) !== undefined) return true;
    }
  }
  return false;
}

/**
 * The attributes Braze writes for `o`, a valid object (validateAttributes), identifiers and flags left
 * out, counting what it drops.
 */
export function plannedWrites(o: JsonObject, dropNested: boolean, counts: WriteCounts): JsonObject {
  const out: JsonObject = {};
  for (const key in o) {
    if (IDENTITY_KEYS.has(key)) continue;
    const value = o[key];
    if (hasFieldRule(key)) {
      // A valid object has no field whose rule answers `error`: only the others can change a write.
      const verdict = profileFieldStoreProblem(key, value);
      if (verdict?.effect === 'ignored') counts.fieldsIgnored++;
      else out[key] = verdict?.effect === 'nulled' ? null : storedFieldValue(key, value);
      continue;
    }
    if (isNestedValue(value) && (dropNested || jsonSize(value) > NESTED_MAX_BYTES)) {
      counts.nestedDropped++;
      continue;
    }
    out[key] = value;
  }
  return out;
}
