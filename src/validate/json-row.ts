import type { z } from 'zod';
import type { Mapping } from '../../schemas/mapping.js';
import {
  brazeLineSchema,
  type EventObject,
  type PurchaseObject,
  type Rejection,
  type UserRecord,
} from '../../schemas/record.js';
import { checkAttribute } from './attribute-rules.js';
import { coerceJson, isBlank, OMIT } from './cast.js';
import { checkExternalId, checkKey, checkValue, isPlainObject, Problem } from './checks.js';
import { buildEvents, buildPurchases, propertiesProblem, type RowReader } from './events.js';
import { eventColumns, formatPath, issueMessage, specOf } from './mapping.js';
import { rejectionOf } from './rejection.js';

/**
 * JSONL lines. A line with an `attributes`, `events` or `purchases` key is Braze-shaped and goes
 * through zod; its values are sent as written. Any other object is a flat record like a CSV row:
 * JSON values keep their JSON types (only the id must be a string), and a blank string omits the
 * field as a blank cell does. The mapping applies to flat records only.
 */

export interface JsonContext {
  mapping: Mapping | undefined;
  idSource: string;
  usedByEvents: Set<string>;
  /** The mapping renames a column: two keys of one line may then become one attribute. */
  renames: boolean;
}

export function jsonContext(mapping: Mapping | undefined, idSource: string): JsonContext {
  const renames = Object.values(mapping?.columns ?? {}).some((spec) => spec.rename !== undefined);
  return { mapping, idSource, usedByEvents: eventColumns(mapping), renames };
}

export function validateJsonValue(line: number, value: unknown, ctx: JsonContext): UserRecord | Rejection {
  if (!isPlainObject(value)) {
    const kind = value === null ? 'null' : Array.isArray(value) ? 'an array' : `a ${typeof value}`;
    return rejectionOf(line, new Problem('not_an_object', `expected a JSON object, got ${kind}`), value);
  }
  const brazeShaped =
    Object.hasOwn(value, 'attributes') || Object.hasOwn(value, 'events') || Object.hasOwn(value, 'purchases');
  return brazeShaped ? validateBrazeLine(line, value) : validateFlat(line, value, ctx);
}

function validateBrazeLine(line: number, obj: Record<string, unknown>): UserRecord | Rejection {
  const externalId = obj['external_id'];
  const idProblem = checkExternalId(externalId);
  if (idProblem || typeof externalId !== 'string') return rejectionOf(line, idProblem!, obj);
  // Before zod: forbidden keys anywhere, depth and string lengths (zod would silently drop __proto__).
  for (const key of Object.keys(obj)) {
    if (key === 'external_id') continue;
    const problem = checkKey(key, key) ?? checkValue(obj[key], key, 1);
    if (problem) return rejectionOf(line, problem, obj, externalId);
  }
  const inner = isPlainObject(obj['attributes']) ? obj['attributes']['external_id'] : undefined;
  if (inner !== undefined && inner !== externalId) {
    const problem = new Problem(
      'bad_attributes',
      'attributes.external_id differs from external_id',
      'attributes.external_id',
    );
    return rejectionOf(line, problem, obj, externalId);
  }
  const parsed = brazeLineSchema.safeParse(obj);
  if (!parsed.success) return rejectionOf(line, zodProblem(parsed.error.issues[0]!), obj, externalId);
  const { attributes, events, purchases } = parsed.data;
  const ruleProblem = brazeRules(attributes, events, purchases);
  if (ruleProblem) return rejectionOf(line, ruleProblem, obj, externalId);
  const record: UserRecord = { line, externalId };
  if (attributes) {
    const { external_id: _same, ...rest } = attributes;
    record.attributes = rest;
  }
  if (events && events.length > 0) record.events = events;
  if (purchases && purchases.length > 0) record.purchases = purchases;
  if (!record.attributes && !record.events && !record.purchases) record.attributes = {};
  return record;
}

const CODE_BY_KEY: Record<string, Problem['code']> = {
  attributes: 'bad_attributes',
  events: 'bad_event',
  purchases: 'bad_purchase',
};

function zodProblem(issue: z.core.$ZodIssue): Problem {
  if (issue.code === 'unrecognized_keys' && issue.path.length === 0) {
    return new Problem(
      'unknown_key',
      `unexpected key(s) ${issue.keys.join(', ')}: a Braze-shaped line has only external_id, attributes, events, purchases`,
      issue.keys[0],
    );
  }
  const first = issue.path[0];
  const code =
    (typeof first === 'string' && Object.hasOwn(CODE_BY_KEY, first) && CODE_BY_KEY[first]) || 'bad_value';
  const field = formatPath(issue.path);
  return new Problem(code, `${field}: ${issueMessage(issue)}`, field);
}

/** Braze's rules for profile fields, nested attributes and property sizes, on a Braze-shaped line. */
function brazeRules(
  attributes: Record<string, unknown> | undefined,
  events: EventObject[] | undefined,
  purchases: PurchaseObject[] | undefined,
): Problem | undefined {
  for (const [key, value] of Object.entries(attributes ?? {})) {
    const problem = checkAttribute(key, value, `attributes.${key}`);
    if (problem) return problem;
  }
  for (const [i, e] of (events ?? []).entries()) {
    const problem = propertiesProblem('events', e, `events[${i}]`);
    if (problem) return problem;
  }
  for (const [i, p] of (purchases ?? []).entries()) {
    const problem = propertiesProblem('purchases', p, `purchases[${i}]`);
    if (problem) return problem;
  }
  return undefined;
}

function validateFlat(line: number, obj: Record<string, unknown>, ctx: JsonContext): UserRecord | Rejection {
  const externalId = obj[ctx.idSource];
  const idProblem = checkExternalId(externalId, ctx.idSource);
  if (idProblem || typeof externalId !== 'string') return rejectionOf(line, idProblem!, obj);
  const flat = flatAttributes(obj, ctx);
  if (flat instanceof Problem) return rejectionOf(line, flat, obj, externalId);
  const mapping = ctx.mapping;
  if (!mapping?.events?.length && !mapping?.purchases?.length) {
    return { line, externalId, attributes: flat.attributes };
  }
  const reader: RowReader = {
    raw: (column) => (Object.hasOwn(obj, column) ? obj[column] : undefined),
    cast: (column) => (Object.hasOwn(obj, column) ? castJson(obj[column], column, ctx) : OMIT),
  };
  const events = buildEvents(mapping.events ?? [], reader);
  if (events instanceof Problem) return rejectionOf(line, events, obj, externalId);
  const purchases = buildPurchases(mapping.purchases ?? [], reader);
  if (purchases instanceof Problem) return rejectionOf(line, purchases, obj, externalId);
  const record: UserRecord = { line, externalId };
  if (flat.count > 0 || (events.length === 0 && purchases.length === 0)) record.attributes = flat.attributes;
  if (events.length > 0) record.events = events;
  if (purchases.length > 0) record.purchases = purchases;
  return record;
}

/** A flat line's attributes (renamed, typed, checked), or the first reason to reject it. */
function flatAttributes(
  obj: Record<string, unknown>,
  ctx: JsonContext,
): { attributes: Record<string, unknown>; count: number } | Problem {
  const attributes: Record<string, unknown> = {};
  let count = 0;
  const sourceOf = ctx.renames ? new Map<string, string>() : undefined;
  for (const key of Object.keys(obj)) {
    if (key === ctx.idSource) continue;
    const spec = specOf(ctx.mapping, key);
    if (spec && 'drop' in spec && spec.drop) continue;
    const also = spec !== undefined && 'alsoAttribute' in spec && spec.alsoAttribute === true;
    if (ctx.usedByEvents.has(key) && !also) continue;
    const target = spec?.rename ?? key;
    const keyProblem = checkKey(target, key) ?? targetProblem(target, key, sourceOf);
    if (keyProblem) return keyProblem;
    const value = castJson(obj[key], key, ctx);
    if (value === OMIT) continue;
    if (value instanceof Problem) return value;
    const ruleProblem = checkAttribute(target, value, key);
    if (ruleProblem) return ruleProblem;
    attributes[target] = value;
    count++;
  }
  return { attributes, count };
}

/** external_id comes from the id key only, and two keys must not become one attribute. */
function targetProblem(
  target: string,
  key: string,
  sourceOf: Map<string, string> | undefined,
): Problem | undefined {
  if (target === 'external_id') return new Problem('bad_key', `"${key}" would overwrite external_id`, key);
  const other = sourceOf?.get(target);
  sourceOf?.set(target, key);
  if (other === undefined) return undefined;
  return new Problem(
    'bad_key',
    `"${other}" and "${key}" would both be sent as the attribute "${target}" (a rename onto a key the line has); drop or rename one of them`,
    key,
  );
}

function castJson(raw: unknown, key: string, ctx: JsonContext): unknown {
  // A blank string is a blank cell: it omits the field instead of overwriting it with "".
  if (typeof raw === 'string' && isBlank(raw)) return OMIT;
  const spec = specOf(ctx.mapping, key);
  const type = (spec && 'type' in spec && spec.type) || 'auto';
  const value =
    type === 'auto'
      ? raw
      : coerceJson(raw, type, key, spec && 'separator' in spec ? spec.separator : undefined);
  if (value === OMIT || value instanceof Problem) return value;
  return checkValue(value, key, 1) ?? value;
}
