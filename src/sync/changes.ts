import type { UserRecord } from '../../schemas/record.js';
import { attributePoints } from '../validate/data-points.js';
import { operatorKind } from '../validate/nested.js';
import { IDENTITY_KEYS } from '../validate/profile-fields.js';
import { type Entry, valueHash } from './hash.js';

/**
 * What a sync sends of a row, given what the change record holds for its user. Pure.
 *
 * - A user the record does not know, or a second row of a user in the same sync: the row as it is.
 * - A known user: only the attributes whose value differs from the one Braze last accepted (by hash);
 *   attribute operations (`inc`, `add`/`remove`, `$add`/`$remove`/`$update`) are changes, not state,
 *   and always go; so do events and purchases. Control keys (`_update_existing_only`,
 *   `_merge_objects`) go along with whatever attributes go, and alone are no change.
 * - Nothing left: the user is unchanged and nothing of it is sent.
 */
export interface Change {
  /** What to send; undefined when the user is unchanged. */
  send: UserRecord | undefined;
  /** Attributes left out because Braze already has their value. */
  skipped: number;
  /** The data points those would have cost. */
  saved: number;
}

export function changeOf(
  rec: UserRecord,
  found: Entry | 'new' | 'dup',
  slotOf: ReadonlyMap<string, number>,
  full = false,
): Change {
  if (full || found === 'new' || found === 'dup' || !rec.attributes) {
    if (found !== 'new' && found !== 'dup' && !full && !rec.attributes && !rec.events && !rec.purchases) {
      return { send: undefined, skipped: 0, saved: 0 };
    }
    return { send: rec, skipped: 0, saved: 0 };
  }
  const kept: Record<string, unknown> = {};
  const skipped: Record<string, unknown> = {};
  let changed = 0;
  let skippedCount = 0;
  for (const key in rec.attributes) {
    const value = rec.attributes[key];
    if (IDENTITY_KEYS.has(key)) {
      kept[key] = value;
      continue;
    }
    const slot = slotOf.get(key);
    if (!isOperation(value) && slot !== undefined && found.slots[slot] === valueHash(value)) {
      skipped[key] = value;
      skippedCount++;
      continue;
    }
    kept[key] = value;
    changed++;
  }
  const saved = skippedCount > 0 ? attributePoints(skipped) : 0;
  if (changed > 0) {
    return { send: { ...rec, attributes: kept }, skipped: skippedCount, saved };
  }
  const { attributes: _none, ...rest } = rec;
  const send = rest.events || rest.purchases ? rest : undefined;
  return { send, skipped: skippedCount, saved };
}

function isOperation(v: unknown): boolean {
  if (typeof v !== 'object' || v === null || Array.isArray(v)) return false;
  return operatorKind(v as Record<string, unknown>) !== 'nested';
}

/**
 * What the record keeps of an attributes object Braze accepted: a hash per attribute, except the
 * identifiers and control keys. An operation's result is not known here: its slot is emptied (0), so
 * the next plain value of that attribute is sent whatever it is.
 */
export function acceptedValues(obj: Record<string, unknown>): Array<[string, number]> {
  const out: Array<[string, number]> = [];
  for (const key in obj) {
    if (IDENTITY_KEYS.has(key)) continue;
    const value = obj[key];
    out.push([key, isOperation(value) ? 0 : valueHash(value)]);
  }
  return out;
}

/**
 * The users of an accepted request body whose attributes the record takes: every attributes object
 * but those of users with a refused one (`refused`: their external_ids), in body order.
 */
export function acceptedUsers(
  attributes: ReadonlyArray<Record<string, unknown>>,
  refused: ReadonlySet<string>,
): Array<{ id: string; values: Array<[string, number]> }> {
  const out: Array<{ id: string; values: Array<[string, number]> }> = [];
  for (const obj of attributes) {
    const id = obj['external_id'];
    if (typeof id !== 'string' || refused.has(id)) continue;
    out.push({ id, values: acceptedValues(obj) });
  }
  return out;
}
