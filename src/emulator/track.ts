/**
 * POST /users/track: envelope checks, per-object validation, then (optionally) the store, in Braze's order
 * attributes -> events -> purchases so an event for a new user finds the profile its attributes created.
 */
import type { JsonObject } from './json.js';
import type { EmulatorStats } from './stats.js';
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

export interface EndpointResult {
  status: number;
  body: object;
}

export interface TrackContext {
  limits: TrackLimits;
  store: ProfileStore | null;
  stats: EmulatorStats;
}

type Validator = (item: unknown) => string | null;
type Applier = (store: ProfileStore, item: JsonObject) => boolean;

const STEPS: ReadonlyArray<readonly [InputArray, Validator, Applier]> = [
  ['attributes', validateAttributes, (s, o) => s.applyAttributes(o)],
  ['events', validateEvent, (s, o) => s.appendEvent(o)],
  ['purchases', validatePurchase, (s, o) => s.appendPurchase(o)],
];

export function processTrack(body: unknown, ctx: TrackContext): EndpointResult {
  const env = checkEnvelope(body, ctx.limits);
  if (typeof env === 'string') return { status: 400, body: { message: env } };
  const { stats, store } = ctx;
  const errors: ObjectError[] = [];
  const processed: Partial<Record<InputArray, number>> = {};
  let valid = 0;
  for (const [name, validate, apply] of STEPS) {
    const items = env[name];
    if (!items) continue;
    let ok = 0;
    for (let index = 0; index < items.length; index++) {
      const item = items[index];
      const type = validate(item);
      if (type !== null) {
        errors.push({ type, input_array: name, index });
        continue;
      }
      ok++;
      if (store && !apply(store, item as JsonObject)) stats.notApplied++;
    }
    processed[name] = ok;
    valid += ok;
    stats[name] += ok;
  }
  stats.accepted += valid;
  stats.rejected += errors.length;
  if (valid === 0) return { status: 400, body: { message: VALID_DATA_REQUIRED, errors } };
  const result: Record<string, unknown> = { message: 'success' };
  if (processed.attributes !== undefined) result['attributes_processed'] = processed.attributes;
  if (processed.events !== undefined) result['events_processed'] = processed.events;
  if (processed.purchases !== undefined) result['purchases_processed'] = processed.purchases;
  if (errors.length > 0) result['errors'] = errors;
  return { status: 201, body: result };
}
