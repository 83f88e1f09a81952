import { z } from 'zod';
import { isBrazeTime, isCurrency, isPrice, isQuantity } from './values.js';

/**
 * Shapes of one user's data on its way from a source row to a /users/track body, and of a row that
 * could not make it (a Rejection). Limits come from Braze's docs (braze-api.md §1.5-1.8).
 */

export const LIMITS = {
  /** Braze answers EXTERNAL_USER_ID_TOO_LARGE above this many UTF-8 bytes. */
  externalIdBytes: 987,
  /** Braze truncates longer strings and keys; we refuse rather than send something else. */
  stringChars: 255,
  /** Nesting cap for attribute/property values: bounds our recursion and Braze's 100 KB nested cap anyway. */
  depth: 32,
} as const;

/** Keys that could reach Object.prototype through careless assignment; refused everywhere. */
export const FORBIDDEN_KEYS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);
/** Event/purchase property names Braze reserves. */
export const RESERVED_PROPERTY_KEYS: ReadonlySet<string> = new Set(['time', 'event_name']);

export const REJECTION_CODES = [
  'missing_external_id',
  'external_id_not_string',
  'external_id_too_long',
  'external_id_control_chars',
  'string_too_long',
  'bad_key',
  'bad_value',
  'bad_attributes',
  'bad_event',
  'bad_purchase',
  'unknown_key',
  'forbidden_key',
  'not_an_object',
  'too_deep',
  'ragged_row',
  'bad_json',
  'bad_csv',
  /** Bytes that are not UTF-8, or NUL bytes: refused rather than sent as replacement characters. */
  'bad_encoding',
  'object_too_large',
  /** A default profile field Braze would refuse, ignore or set to null (gender "Male", country "Narnia"). */
  'bad_profile_field',
  /** A nested attribute Braze would drop with every other nested update of its request. */
  'bad_nested_value',
  /** Over Braze's size cap: nested attributes and event properties 100 KB, purchase properties 50 KB. */
  'value_too_large',
] as const;
export type RejectionCode = (typeof REJECTION_CODES)[number];

/**
 * A row that is never sent. `record` keeps the raw input (CSV cells by header name, the parsed JSON
 * value, or the raw text when it could not be parsed) so a dead letter can be exported or replayed
 * in the input's own shape.
 */
export interface Rejection {
  line: number;
  code: RejectionCode;
  field?: string;
  message: string;
  externalId?: string;
  record?: unknown;
}

/** One raw row from a reader; `line` is the 1-based line where the record starts. */
export type RawRow =
  | {
      line: number;
      kind: 'csv';
      /** The row's cells by position, as many as the header has (see csvValues for them by name). */
      cells: readonly string[];
      /** The file's header, the same array for every row: lets the validator compile its plan once. */
      header: readonly string[];
    }
  | {
      line: number;
      kind: 'jsonl';
      value: unknown;
      /** The line's text, kept for its dead letter. */
      text?: string;
    }
  | { line: number; kind: 'error'; code: RejectionCode; message: string; raw?: unknown };

/**
 * Raw rows in the order read, a batch at a time (the rows of one chunk of input): what a source hands
 * the producer. A row per step cost a stream hop and an await of its own.
 */
export type RowBatches = AsyncIterable<readonly RawRow[]>;

/**
 * A CSV row's cells under their column names, for its dead letter and its replay. A header with a
 * "__proto__" column gives a prototype-less object, so that name stays a plain key.
 */
export function csvValues(row: {
  cells: readonly string[];
  header: readonly string[];
}): Record<string, string> {
  const { cells, header } = row;
  const values: Record<string, string> = header.includes('__proto__') ? Object.create(null) : {};
  for (let i = 0; i < header.length; i++) values[header[i]!] = cells[i] ?? '';
  return values;
}

/** A time in one of the formats Braze lists (schemas/values.ts), on a real calendar day. */
export const timeSchema = z
  .string()
  .refine(isBrazeTime, { message: 'expected an ISO-8601 date or date-time (or another format Braze reads)' });

export const propertyKeySchema = z
  .string()
  .min(1, { message: 'property name must not be empty' })
  .max(LIMITS.stringChars, { message: `property name longer than ${LIMITS.stringChars} characters` })
  .refine((k) => !RESERVED_PROPERTY_KEYS.has(k), { message: 'property name is reserved by Braze' })
  .refine((k) => !k.startsWith('$'), { message: 'property name must not start with $' });

/** Values are checked (depth, forbidden keys, string lengths) before zod sees them. */
export const propertiesSchema = z.record(propertyKeySchema, z.unknown());

const boundedString = (what: string) =>
  z
    .string()
    .min(1, { message: `${what} must not be empty` })
    .max(LIMITS.stringChars, { message: `${what} longer than ${LIMITS.stringChars} characters` });

/** An event as it arrives, without its identifier (the chunker adds external_id). */
export const eventSchema = z.strictObject({
  name: boundedString('name'),
  time: timeSchema,
  app_id: z.string().optional(),
  properties: propertiesSchema.optional(),
  _update_existing_only: z.boolean().optional(),
});
export type EventObject = z.output<typeof eventSchema>;

export const purchaseSchema = z.strictObject({
  product_id: boundedString('product_id'),
  currency: z.string().refine(isCurrency, { message: 'expected a 3-letter ISO-4217 currency code' }),
  price: z.number().refine(isPrice, { message: 'expected a finite number' }),
  quantity: z.number().refine(isQuantity, { message: 'expected a whole number from 1 to 100' }).default(1),
  time: timeSchema,
  app_id: z.string().optional(),
  properties: propertiesSchema.optional(),
  _update_existing_only: z.boolean().optional(),
});
export type PurchaseObject = z.output<typeof purchaseSchema>;

/** Control characters (C0, DEL, C1) have no place in an identifier and break logs and CSV exports. */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
export const CONTROL_CHARS = /[\u0000-\u001f\u007f-\u009f]/;

/** The rules of checkExternalId (src/validate) as a zod schema; a test proves both agree. */
export const externalIdSchema = z
  .string()
  .refine((s) => s.trim() !== '', { message: 'external_id is empty' })
  .refine((s) => Buffer.byteLength(s, 'utf8') <= LIMITS.externalIdBytes, {
    message: `external_id longer than ${LIMITS.externalIdBytes} bytes`,
  })
  .refine((s) => !CONTROL_CHARS.test(s), { message: 'external_id contains control characters' });

/** A JSONL line in Braze's own shape (detected by an attributes, events or purchases key). */
export const brazeLineSchema = z.strictObject({
  external_id: z.unknown(),
  attributes: z.record(z.string(), z.unknown()).optional(),
  events: z.array(eventSchema).optional(),
  purchases: z.array(purchaseSchema).optional(),
});

/**
 * One valid source row. `attributes` present (even empty) means "send an attributes object": a row
 * with only an id still creates or touches the profile, as Braze's CSV import does.
 */
export interface UserRecord {
  line: number;
  externalId: string;
  attributes?: Record<string, unknown>;
  events?: EventObject[];
  purchases?: PurchaseObject[];
}

/**
 * zod's record parser skips an own "__proto__" key silently (so it cannot reach a prototype); to
 * refuse it as the hand checks do, look at the raw input first.
 */
const noProtoKey = z.custom<unknown>(
  (v) => typeof v !== 'object' || v === null || !Object.hasOwn(v, '__proto__'),
  { message: 'forbidden key "__proto__"' },
);

const keySchema = (what: string) =>
  boundedString(what).refine((k) => !FORBIDDEN_KEYS.has(k), { message: 'forbidden key' });

/** The scalar and nested values an attribute may hold, as zod (see checkValue in src/validate). */
export const attributeValueSchema: z.ZodType<unknown> = z.lazy(() =>
  z.union([
    z.null(),
    z.boolean(),
    z
      .number()
      .finite()
      .refine((n) => !Number.isInteger(n) || Number.isSafeInteger(n), { message: 'integer beyond 2^53' }),
    z.string().max(LIMITS.stringChars),
    z.array(attributeValueSchema),
    noProtoKey.pipe(z.record(keySchema('key'), attributeValueSchema)),
  ]),
);

export const attributesSchema = noProtoKey.pipe(
  z.record(
    keySchema('attribute name').refine((k) => k !== 'external_id', {
      message: 'external_id is not an attribute',
    }),
    attributeValueSchema,
  ),
);
