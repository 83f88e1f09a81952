/**
 * POST /users/track and /users/track/bulk (one code path, each with its own limits and counters):
 * envelope checks, per-object validation, then (optionally) the store, in Braze's order
 * attributes -> events -> purchases so an event for a new user finds the profile its attributes created.
 * Every valid object is billed in data points as Braze bills what it writes (src/validate/data-points.ts).
 */
import { attributePoints, eventPoints, purchasePoints } from '../validate/data-points.js';
import type { JsonObject } from './json.js';
import type { EmulatorStats, EndpointCounters } from './stats.js';
import type { ProfileStore } from './store.js';
import {
  checkEnvelope,
  type InputArray,
  type ObjectError,
  type TrackLimits,
  VALID_DATA_REQUIRED,
  validateAttributes,
  validateEvent,
  validatePurchase,
} from './validate.js';
import { plannedWrites, requestDropsNested } from './writes.js';

export interface EndpointResult {
  status: number;
  body: object;
}

export interface TrackContext {
  /** The endpoint's envelope limits. */
  limits: TrackLimits;
  store: ProfileStore | null;
  /** Totals over every endpoint. */
  stats: EmulatorStats;
  /** The endpoint's own counts (stats.endpoints[path]), beside the totals. */
  counters?: EndpointCounters;
  /** When set, the valid objects are applied through it (later: Braze's asynchronous processing). */
  defer?: (apply: () => void) => void;
}

type Validator = (item: unknown) => string | null;

const VALIDATORS: ReadonlyArray<readonly [InputArray, Validator]> = [
  ['attributes', validateAttributes],
  ['events', validateEvent],
  ['purchases', validatePurchase],
];

export function processTrack(body: unknown, ctx: TrackContext): EndpointResult {
  const env = checkEnvelope(body, ctx.limits);
  if (typeof env === 'string') return { status: 400, body: { message: env } };
  const { stats, counters } = ctx;
  const errors: ObjectError[] = [];
  const valid: Record<InputArray, JsonObject[]> = { attributes: [], events: [], purchases: [] };
  const processed: Partial<Record<InputArray, number>> = {};
  for (const [name, validate] of VALIDATORS) {
    const items = env[name];
    if (!items) continue;
    for (let index = 0; index < items.length; index++) {
      const type = validate(items[index]);
      if (type === null) valid[name].push(items[index] as JsonObject);
      else errors.push({ type, input_array: name, index });
    }
    processed[name] = valid[name].length;
    stats[name] += valid[name].length;
    if (counters) counters.objects[name] += valid[name].length;
  }
  const count = valid.attributes.length + valid.events.length + valid.purchases.length;
  stats.accepted += count;
  stats.rejected += errors.length;
  if (counters) {
    const o = counters.objects;
    o.accepted += count;
    o.rejected += errors.length;
    o.maxPerRequest = Math.max(o.maxPerRequest, count + errors.length);
  }
  if (count === 0) return { status: 400, body: { message: VALID_DATA_REQUIRED, errors } };
  if (ctx.defer) ctx.defer(() => apply(valid, ctx));
  else apply(valid, ctx);
  const result: Record<string, unknown> = { message: 'success' };
  if (processed.attributes !== undefined) result['attributes_processed'] = processed.attributes;
  if (processed.events !== undefined) result['events_processed'] = processed.events;
  if (processed.purchases !== undefined) result['purchases_processed'] = processed.purchases;
  if (errors.length > 0) result['errors'] = errors;
  return { status: 201, body: result };
}

/** Writes the valid objects (when there is a store) and bills them. */
function apply(valid: Record<InputArray, JsonObject[]>, { store, stats, counters }: TrackContext): void {
  const dropNested = requestDropsNested(valid.attributes);
  let points = 0;
  let notApplied = 0;
  for (const o of valid.attributes) {
    const writes = plannedWrites(o, dropNested, stats);
    points += attributePoints(writes);
    if (store && !store.applyAttributes(o, writes)) notApplied++;
  }
  for (const o of valid.events) {
    points += eventPoints(o);
    if (store && !store.appendEvent(o)) notApplied++;
  }
  for (const o of valid.purchases) {
    points += purchasePoints(o);
    if (store && !store.appendPurchase(o)) notApplied++;
  }
  stats.dataPoints += points;
  stats.notApplied += notApplied;
  if (counters) {
    counters.dataPoints += points;
    counters.objects.notApplied += notApplied;
  }
}
