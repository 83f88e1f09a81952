import type { z } from 'zod';
import {
  type EventMapping,
  type PurchaseMapping,
  usedColumns,
  type ValueSource,
} from '../../schemas/mapping.js';
import { type EventObject, eventSchema, type PurchaseObject, purchaseSchema } from '../../schemas/record.js';
import { readFloat, readInteger } from '../../schemas/values.js';
import { PROPERTIES_MAX_BYTES, sizeProblem } from './attribute-rules.js';
import { OMIT } from './cast.js';
import { checkKey, clip, Problem } from './checks.js';
import { formatPath, issueMessage } from './mapping.js';

/**
 * Events and purchases built from columns (mapping file), validated with the same zod schemas as
 * Braze-shaped JSONL lines, so both inputs obey one set of rules.
 */

/** How the builders see one row, whatever its format. */
export interface RowReader {
  /** The raw cell or JSON value; undefined when absent. */
  raw(column: string): unknown;
  /** The value cast by the column's type (OMIT when blank, a Problem when it cannot be cast). */
  cast(column: string): unknown;
}

function isBlankValue(v: unknown): boolean {
  return v === undefined || v === null || (typeof v === 'string' && v.trim() === '');
}

/**
 * An event or purchase exists in a row when any column it reads is filled in. One built from
 * constants alone reads no column: it is in every row (the mapping said so, and nothing can be blank).
 */
function present(spec: EventMapping | PurchaseMapping, row: RowReader): boolean {
  const columns = usedColumns(spec);
  return columns.length === 0 || columns.some(([column]) => !isBlankValue(row.raw(column)));
}

function asText(v: unknown): unknown {
  if (typeof v === 'string') return v.trim();
  return typeof v === 'number' ? String(v) : v;
}

/**
 * "9.99" -> 9.99 by the rules of a float (price) or integer (quantity) column, so 0x10 and 0b11
 * are not 16 and 3; anything unreadable is left for zod to report as "expected number".
 */
function asFloat(v: unknown): unknown {
  return typeof v === 'string' ? (readFloat(v) ?? v) : v;
}
function asInteger(v: unknown): unknown {
  return typeof v === 'string' ? (readInteger(v) ?? v) : v;
}

function read(source: ValueSource | undefined, row: RowReader, convert: (v: unknown) => unknown): unknown {
  if (source === undefined) return undefined;
  if ('value' in source) return source.value;
  const v = row.raw(source.column);
  return isBlankValue(v) ? undefined : convert(v);
}

function properties(
  spec: EventMapping | PurchaseMapping,
  row: RowReader,
  at: string,
): Record<string, unknown> | Problem | undefined {
  if (!spec.properties) return undefined;
  const out: Record<string, unknown> = {};
  for (const [name, column] of Object.entries(spec.properties)) {
    const field = `${at}.properties.${name}`;
    const keyProblem = checkKey(name, field);
    if (keyProblem) return keyProblem;
    const v = row.cast(column);
    if (v === OMIT) continue;
    if (v instanceof Problem) return v;
    out[name] = v;
  }
  return Object.keys(out).length > 0 ? out : undefined;
}

/** The first zod issue, named by the source column (and its value) when the field came from one. */
function issueProblem(
  code: 'bad_event' | 'bad_purchase',
  at: string,
  spec: EventMapping | PurchaseMapping,
  candidate: Record<string, unknown>,
  issue: z.core.$ZodIssue,
): Problem {
  const key = issue.path[0];
  const source = typeof key === 'string' ? (spec as Record<string, unknown>)[key] : undefined;
  const column =
    typeof source === 'object' && source !== null && 'column' in source ? String(source.column) : undefined;
  const path = formatPath([at, ...issue.path]);
  if (column === undefined) return new Problem(code, `${path}: ${issueMessage(issue)}`, path);
  const value = typeof key === 'string' && issue.path.length === 1 ? candidate[key] : undefined;
  const message =
    value === undefined
      ? `${at}: column ${column} is empty but ${String(key)} is required`
      : `${at}: column ${column} = ${clip(JSON.stringify(value))}: ${issueMessage(issue)}`;
  return new Problem(code, message, column);
}

/** Event properties over 100 KB, purchase properties over 50 KB. */
export function propertiesProblem(
  kind: 'events' | 'purchases',
  object: { properties?: Record<string, unknown> | undefined },
  at: string,
): Problem | undefined {
  if (object.properties === undefined) return undefined;
  const what = kind === 'events' ? 'event properties' : 'purchase properties';
  return sizeProblem(object.properties, PROPERTIES_MAX_BYTES[kind], `${at}.properties`, what);
}

export function buildEvents(specs: EventMapping[], row: RowReader): EventObject[] | Problem {
  const out: EventObject[] = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    if (!present(spec, row)) continue;
    const at = `events[${i}]`;
    const props = properties(spec, row, at);
    if (props instanceof Problem) return props;
    const candidate = {
      name: 'value' in spec.name ? spec.name.value : asText(row.raw(spec.name.column)),
      time: read(spec.time, row, asText),
      ...(spec.app_id !== undefined && { app_id: spec.app_id }),
      ...(props && { properties: props }),
    };
    const parsed = eventSchema.safeParse(candidate);
    if (!parsed.success) return issueProblem('bad_event', at, spec, candidate, parsed.error.issues[0]!);
    const tooLarge = propertiesProblem('events', parsed.data, at);
    if (tooLarge) return tooLarge;
    out.push(parsed.data);
  }
  return out;
}

export function buildPurchases(specs: PurchaseMapping[], row: RowReader): PurchaseObject[] | Problem {
  const out: PurchaseObject[] = [];
  for (let i = 0; i < specs.length; i++) {
    const spec = specs[i]!;
    if (!present(spec, row)) continue;
    const at = `purchases[${i}]`;
    const props = properties(spec, row, at);
    if (props instanceof Problem) return props;
    const quantity = read(spec.quantity, row, asInteger);
    const candidate = {
      product_id: read(spec.product_id, row, asText),
      currency: read(spec.currency, row, asText),
      price: read(spec.price, row, asFloat),
      ...(quantity !== undefined && { quantity }),
      time: read(spec.time, row, asText),
      ...(spec.app_id !== undefined && { app_id: spec.app_id }),
      ...(props && { properties: props }),
    };
    const parsed = purchaseSchema.safeParse(candidate);
    if (!parsed.success) return issueProblem('bad_purchase', at, spec, candidate, parsed.error.issues[0]!);
    const tooLarge = propertiesProblem('purchases', parsed.data, at);
    if (tooLarge) return tooLarge;
    out.push(parsed.data);
  }
  return out;
}
