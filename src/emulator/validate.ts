/**
 * Hand-written validation of a /users/track body (no zod on the hot path). Every check returns an error
 * `type` string or null, so a valid object costs no allocation. The strings follow what third parties
 * captured from live Braze responses where known (see shared/braze-api.md §2.2).
 */

import { isCurrency, isPrice, isQuantity, parseBrazeTime } from '../../schemas/values.js';
import { PROPERTIES_MAX_BYTES } from '../validate/attribute-rules.js';
import { jsonSize, operatorKind, utf8Length } from '../validate/nested.js';
import { FIELD_ERRORS, profileFieldError, profileFieldProblem } from '../validate/profile-fields.js';
import { isPlainObject, type JsonObject } from './json.js';
import { identityKey } from './store.js';

export type InputArray = 'attributes' | 'events' | 'purchases';

export interface ObjectError {
  type: string;
  input_array: InputArray;
  index: number;
}

/** An endpoint's envelope limits: /users/track's, or /users/track/bulk's (1,000 objects, 100 per user). */
export interface TrackLimits {
  maxObjects: number;
  /** Legacy contracts: `maxObjects` per array instead of across all three. */
  legacyPerArray: boolean;
  /** Objects (all three arrays) that may name one user profile in a request; unlimited when absent. */
  maxObjectsPerUser?: number;
}

export interface TrackEnvelope {
  attributes: unknown[] | undefined;
  events: unknown[] | undefined;
  purchases: unknown[] | undefined;
}

export const VALID_DATA_REQUIRED =
  "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.";
export const MAX_INPUT_LENGTH_EXCEEDED = 'Max Input Length Exceeded';
/**
 * /users/track/bulk with more than 100 objects for one user profile. Braze documents the cap but not its
 * answer (shared/braze-api.md §3, S14): the emulator chooses a fatal 400 with this message, the whole
 * request refused, nothing applied (like `Max Input Length Exceeded`).
 */
export const MAX_OBJECTS_PER_USER_EXCEEDED = 'Max Objects Per User Exceeded';
export const MAX_EXTERNAL_ID_BYTES = 987;
export const MAX_NAME_LENGTH = 255;

export const ERR = {
  notObject: 'object must be a JSON object',
  identifierRequired: "'external_id', 'braze_id', 'user_alias', 'email' or 'phone' is required",
  onePrimary: "only one of 'external_id', 'braze_id' or 'user_alias' may be provided",
  externalIdType: "'external_id' must be a non-empty string",
  externalIdTooLarge: "'external_id' must be fewer than 988 bytes",
  brazeIdType: "'braze_id' must be a non-empty string",
  userAlias: "'user_alias' must have string 'alias_name' and 'alias_label'",
  ...FIELD_ERRORS,
  flag: 'control flags (_update_existing_only, _merge_objects, push_token_import) must be booleans',
  pushTokenImport: "'push_token_import' needs 'push_tokens' and no 'external_id' or 'braze_id'",
  inc: "'inc' must be a number",
  arrayOp: "'add' and 'remove' must be arrays",
  name: "'name' is required",
  time: "'time' is required",
  timeInvalid: "'time' is not a valid time",
  properties: "'properties' must be an object",
  eventPropertiesSize: "'properties' must be at most 100 KB",
  purchasePropertiesSize: "'properties' must be at most 50 KB",
  propertyName: 'event property names must be non-empty and at most 255 characters',
  productId: "'product_id' is required and must be at most 255 characters",
  currency: "'currency' is not valid",
  price: "'price' is not valid",
  quantity: "'quantity' is not valid",
} as const;

const RESERVED_PROPERTIES = new Set(['time', 'event_name']);

type Obj = JsonObject;

/** Envelope checks, in Braze's order of fatality: shape, then the object cap, then the cap per user. */
export function checkEnvelope(body: unknown, limits: TrackLimits): TrackEnvelope | string {
  if (!isPlainObject(body)) return VALID_DATA_REQUIRED;
  const { attributes, events, purchases } = body;
  for (const [name, value] of [
    ['attributes', attributes],
    ['events', events],
    ['purchases', purchases],
  ] as const) {
    if (value !== undefined && value !== null && !Array.isArray(value)) return `'${name}' must be an array`;
  }
  const env: TrackEnvelope = {
    attributes: Array.isArray(attributes) ? attributes : undefined,
    events: Array.isArray(events) ? events : undefined,
    purchases: Array.isArray(purchases) ? purchases : undefined,
  };
  const a = env.attributes?.length ?? 0;
  const e = env.events?.length ?? 0;
  const p = env.purchases?.length ?? 0;
  const max = limits.maxObjects;
  const over = limits.legacyPerArray ? a > max || e > max || p > max : a + e + p > max;
  if (over) return MAX_INPUT_LENGTH_EXCEEDED;
  const perUser = limits.maxObjectsPerUser;
  if (perUser !== undefined && a + e + p > perUser && busiestUser(env) > perUser) {
    return MAX_OBJECTS_PER_USER_EXCEEDED;
  }
  return env;
}

/**
 * Most objects naming one user profile, counted by the identifier they are sent with (store.identityKey),
 * valid or not: an object that will get a per-object error still counts. Objects without an identifier
 * name no profile.
 */
function busiestUser(env: TrackEnvelope): number {
  const counts = new Map<string, number>();
  let most = 0;
  for (const items of [env.attributes, env.events, env.purchases]) {
    for (const item of items ?? []) {
      const key = identityKey(item);
      if (key === undefined) continue;
      const n = (counts.get(key) ?? 0) + 1;
      counts.set(key, n);
      if (n > most) most = n;
    }
  }
  return most;
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function checkIdentifiers(o: Obj): string | null {
  let primary = 0;
  const ext = o['external_id'];
  if (present(ext)) {
    primary++;
    if (typeof ext !== 'string' || ext.length === 0) return ERR.externalIdType;
    // A UTF-16 unit is at most 3 UTF-8 bytes, so short ids need no counting.
    if (ext.length * 3 > MAX_EXTERNAL_ID_BYTES && utf8Length(ext) > MAX_EXTERNAL_ID_BYTES) {
      return ERR.externalIdTooLarge;
    }
  }
  const alias = o['user_alias'];
  if (present(alias)) {
    primary++;
    if (!isAlias(alias)) return ERR.userAlias;
  }
  const brazeId = o['braze_id'];
  if (present(brazeId)) {
    primary++;
    if (typeof brazeId !== 'string' || brazeId.length === 0) return ERR.brazeIdType;
  }
  if (primary > 1) return ERR.onePrimary;
  const email = o['email'];
  const phone = o['phone'];
  const contact = profileFieldProblem('email', email) ?? profileFieldProblem('phone', phone);
  if (contact) return contact.message;
  if (primary === 0 && !present(email) && !present(phone)) return ERR.identifierRequired;
  return null;
}

export function isAlias(value: unknown): value is { alias_name: string; alias_label: string } {
  if (!isPlainObject(value)) return false;
  const { alias_name, alias_label } = value;
  return (
    typeof alias_name === 'string' &&
    alias_name !== '' &&
    typeof alias_label === 'string' &&
    alias_label !== ''
  );
}

function checkFlags(o: Obj): string | null {
  const u = o['_update_existing_only'];
  const m = o['_merge_objects'];
  const p = o['push_token_import'];
  if ((u !== undefined && typeof u !== 'boolean') || (m !== undefined && typeof m !== 'boolean'))
    return ERR.flag;
  if (p !== undefined && typeof p !== 'boolean') return ERR.flag;
  return null;
}

function checkPushTokenImport(o: Obj): string | null {
  if (present(o['external_id']) || present(o['braze_id'])) return ERR.pushTokenImport;
  const tokens = o['push_tokens'];
  return Array.isArray(tokens) && tokens.length > 0 ? null : ERR.pushTokenImport;
}

function checkOperators(o: Obj): string | null {
  for (const key in o) {
    const v = o[key];
    if (!isPlainObject(v)) continue;
    const kind = operatorKind(v);
    if (kind === 'inc' && (typeof v['inc'] !== 'number' || !Number.isFinite(v['inc']))) return ERR.inc;
    if (kind === 'array' && !(Array.isArray(v['add'] ?? []) && Array.isArray(v['remove'] ?? []))) {
      return ERR.arrayOp;
    }
  }
  return null;
}

export function validateAttributes(item: unknown): string | null {
  if (!isPlainObject(item)) return ERR.notObject;
  const flags = checkFlags(item);
  if (flags) return flags;
  const ids = item['push_token_import'] === true ? checkPushTokenImport(item) : checkIdentifiers(item);
  if (ids) return ids;
  return checkFieldErrors(item) ?? checkOperators(item);
}

/** Profile fields whose bad values Braze answers with a per-object error (ignored and nulled ones are the store's). */
function checkFieldErrors(o: Obj): string | null {
  for (const key in o) {
    const verdict = profileFieldError(key, o[key]);
    if (verdict) return verdict.message;
  }
  return null;
}

function checkTime(value: unknown): string | null {
  if (typeof value !== 'string' || value === '') return ERR.time;
  return Number.isNaN(parseBrazeTime(value)) ? ERR.timeInvalid : null;
}

function checkProperties(value: unknown, kind: 'events' | 'purchases'): string | null {
  if (value === undefined) return null;
  if (!isPlainObject(value)) return ERR.properties;
  for (const key in value) {
    if (key.length === 0 || key.length > MAX_NAME_LENGTH) return ERR.propertyName;
    if (key.charCodeAt(0) === 36 /* $ */ || RESERVED_PROPERTIES.has(key)) {
      return `'${key}' is a reserved event property name`;
    }
  }
  if (jsonSize(value) <= PROPERTIES_MAX_BYTES[kind]) return null;
  return kind === 'events' ? ERR.eventPropertiesSize : ERR.purchasePropertiesSize;
}

function checkCommon(item: unknown): string | null {
  if (!isPlainObject(item)) return ERR.notObject;
  return checkFlags(item) ?? checkIdentifiers(item);
}

export function validateEvent(item: unknown): string | null {
  const common = checkCommon(item);
  if (common) return common;
  const o = item as Obj;
  const name = o['name'];
  if (typeof name !== 'string' || name === '') return ERR.name;
  return checkTime(o['time']) ?? checkProperties(o['properties'], 'events');
}

export function validatePurchase(item: unknown): string | null {
  const common = checkCommon(item);
  if (common) return common;
  const o = item as Obj;
  const productId = o['product_id'];
  if (typeof productId !== 'string' || productId === '' || productId.length > MAX_NAME_LENGTH) {
    return ERR.productId;
  }
  if (!isCurrency(o['currency'])) return ERR.currency;
  if (!isPrice(o['price'])) return ERR.price;
  if (o['quantity'] !== undefined && !isQuantity(o['quantity'])) return ERR.quantity;
  return checkTime(o['time']) ?? checkProperties(o['properties'], 'purchases');
}
