import type { UserRecord } from '../../schemas/record.js';
import { operatorKind } from './nested.js';
import { FREE_FIELDS, IDENTITY_KEYS } from './profile-fields.js';

/**
 * Data points as Braze bills them (data points page, braze-api.md §5.1), counted the same way for
 * the dry run's estimate and the emulator's `/_emulator/stats`:
 * - each attribute set costs 1, `null` included; identifiers, control flags, subscription fields
 *   and push tokens cost nothing;
 * - setting a whole array costs 1; `add` costs 1 per value, `remove` 1 (one per call, even for a
 *   value that is not there), at least 1 in all;
 * - a nested object costs 1 per key at every level (a {"$time": ...} date is one value); an array
 *   of objects, its objects' keys; `$add` and `$update` the keys they write, `$remove` 1 per item;
 * - an event costs 1, a purchase 1 per unit of quantity (Braze records quantity X as X purchases),
 *   and each event or purchase property 1.
 */

const NOT_BILLED: ReadonlySet<string> = new Set([...IDENTITY_KEYS, ...FREE_FIELDS]);

type Json = Record<string, unknown>;
const isObject = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/** One attributes object; `billed(key, value)` lets the emulator leave out what Braze would not store. */
export function attributePoints(obj: Json, billed?: (key: string, value: unknown) => boolean): number {
  let points = 0;
  for (const key in obj) {
    if (NOT_BILLED.has(key)) continue;
    const value = obj[key];
    if (billed && !billed(key, value)) continue;
    points += valuePoints(value);
  }
  return points;
}

function valuePoints(v: unknown): number {
  if (Array.isArray(v)) return Math.max(1, keysOfItems(v));
  if (!isObject(v)) return 1;
  switch (operatorKind(v)) {
    case 'inc':
      return 1;
    case 'array': {
      const add = Array.isArray(v['add']) ? v['add'].length : 0;
      return Math.max(1, add + (v['remove'] !== undefined ? 1 : 0));
    }
    case 'objects': {
      const update = Array.isArray(v['$update']) ? v['$update'] : [];
      const written = update.reduce<number>((n, u) => n + (isObject(u) ? keysOf(u['$new_object']) : 0), 0);
      const removed = Array.isArray(v['$remove']) ? v['$remove'].length : 0;
      return Math.max(1, keysOfItems(v['$add']) + written + removed);
    }
    default:
      return Math.max(1, keysOf(v));
  }
}

/** Every key at every level; a {"$time": ...} date is a value, not an object with a key. */
function keysOf(v: unknown): number {
  if (Array.isArray(v)) return keysOfItems(v);
  if (!isObject(v) || '$time' in v) return 0;
  let n = 0;
  for (const key in v) n += 1 + keysOf(v[key]);
  return n;
}

function keysOfItems(items: unknown): number {
  if (!Array.isArray(items)) return 0;
  let n = 0;
  for (const item of items) n += keysOf(item);
  return n;
}

function propertyPoints(o: Json): number {
  const props = o['properties'];
  return isObject(props) ? Object.keys(props).length : 0;
}

export function eventPoints(o: Json): number {
  return 1 + propertyPoints(o);
}

export function purchasePoints(o: Json): number {
  const quantity = o['quantity'];
  return (typeof quantity === 'number' && quantity >= 1 ? quantity : 1) + propertyPoints(o);
}

export interface TrackBodyLike {
  attributes?: Json[];
  events?: Json[];
  purchases?: Json[];
}

/** A request body's bill: what the dry run sums over its chunks to match the emulator exactly. */
export function dataPointsOfBody(body: TrackBodyLike): number {
  let points = 0;
  for (const o of body.attributes ?? []) points += attributePoints(o);
  for (const o of body.events ?? []) points += eventPoints(o);
  for (const o of body.purchases ?? []) points += purchasePoints(o);
  return points;
}

/**
 * One record's bill. Rows of one user merged into one request object cost what the merged object
 * costs (later values win), so over a file this can exceed dataPointsOfBody of the chunks.
 */
export function estimateDataPoints(record: UserRecord): number {
  return dataPointsOfBody({
    attributes: record.attributes ? [record.attributes] : [],
    events: record.events ?? [],
    purchases: record.purchases ?? [],
  });
}
