import { z } from 'zod';
import { eventSchema, purchaseSchema, timeSchema } from './record.js';

/**
 * The mapping file (JSON) tells the importer how source columns become Braze data. Every part is
 * optional; without a mapping every column but the id is an attribute of the same name, cast the
 * way Braze's CSV importer casts cells.
 *
 * {
 *   "columns": {
 *     "Email Address": "email",                          // rename (shorthand for {"rename": "email"})
 *     "UserID": "external_id",                           // this column holds the user id
 *     "zip": { "type": "string" },                       // keep "01234" a string
 *     "tags": { "type": "array", "separator": ";" },     // "a;b" -> ["a", "b"]
 *     "internal_note": { "drop": true },                 // never sent
 *     "plan": { "alsoAttribute": true }                  // used by an event below AND sent as an attribute
 *   },
 *   "events": [
 *     { "name": "signup", "time": "signup_at", "properties": { "plan": "plan" } },
 *     { "name": { "column": "event_name" }, "time": "event_time" }
 *   ],
 *   "purchases": [
 *     { "product_id": "sku", "currency": { "value": "USD" }, "price": "amount", "quantity": "qty",
 *       "time": "bought_at", "properties": { "store": "store_id" } }
 *   ]
 * }
 *
 * In events and purchases a bare string names a source column ({"value": x} is a constant), except an
 * event's `name`, where a bare string is the event name itself ({"column": c} reads it from a column).
 * Columns used by an event or purchase are not also sent as attributes unless `alsoAttribute` is set.
 * A row emits an event/purchase when any of its columns is non-empty (one built from constants alone,
 * in every row); a partly filled one is rejected. A constant must already have its field's type (a
 * product_id is text, a price a number): otherwise every row would be rejected, so the mapping is.
 */

export const COLUMN_TYPES = ['auto', 'string', 'integer', 'float', 'boolean', 'date', 'array'] as const;
export type ColumnType = (typeof COLUMN_TYPES)[number];

const columnName = z.string().min(1, { message: 'column name must not be empty' });

const columnSpec = z.union([
  columnName.transform((rename) => ({ rename })),
  z.strictObject({
    rename: columnName.optional(),
    type: z.enum(COLUMN_TYPES).optional(),
    /** With type "array": split the cell on this string instead of reading a JSON array. */
    separator: z.string().min(1).optional(),
    drop: z.boolean().optional(),
    alsoAttribute: z.boolean().optional(),
  }),
]);
export type ColumnSpec = z.output<typeof columnSpec>;

/** A bare string names a column; {"value": x} is the same constant for every row. */
const valueSource = z.union([
  columnName.transform((column) => ({ column })),
  z.strictObject({ value: z.union([z.string(), z.number()]) }),
]);
export type ValueSource = z.output<typeof valueSource>;

const properties = z.record(z.string().min(1), columnName).optional();

const eventMapping = z.strictObject({
  name: z.union([
    z
      .string()
      .min(1)
      .transform((value) => ({ value })),
    z.strictObject({ column: columnName }),
  ]),
  time: valueSource,
  app_id: z.string().optional(),
  properties,
});
export type EventMapping = z.output<typeof eventMapping>;

const purchaseMapping = z.strictObject({
  product_id: valueSource,
  currency: valueSource,
  price: valueSource,
  quantity: valueSource.optional(),
  time: valueSource,
  app_id: z.string().optional(),
  properties,
});
export type PurchaseMapping = z.output<typeof purchaseMapping>;

export const mappingSchema = z
  .strictObject({
    columns: z.record(z.string(), columnSpec).optional(),
    events: z.array(eventMapping).optional(),
    purchases: z.array(purchaseMapping).optional(),
  })
  .superRefine((m, ctx) => {
    const targets = new Map<string, string>();
    const dropped = new Set<string>();
    for (const [source, spec] of Object.entries(m.columns ?? {})) {
      const at = ['columns', source];
      if ('drop' in spec && spec.drop) {
        if (spec.rename || spec.type || spec.alsoAttribute) {
          ctx.addIssue({
            code: 'custom',
            path: at,
            message: 'a dropped column cannot also be renamed or typed',
          });
        }
        dropped.add(source);
        continue;
      }
      if ('separator' in spec && spec.separator && spec.type !== 'array') {
        ctx.addIssue({ code: 'custom', path: at, message: 'separator only applies to type "array"' });
      }
      const target = spec.rename ?? source;
      const other = targets.get(target);
      if (other !== undefined) {
        ctx.addIssue({ code: 'custom', path: at, message: `"${other}" is already mapped to "${target}"` });
      }
      targets.set(target, source);
    }
    const checkUse = (column: string, path: (string | number)[]) => {
      if (dropped.has(column))
        ctx.addIssue({ code: 'custom', path, message: `column "${column}" is dropped` });
    };
    m.events?.forEach((e, i) => {
      for (const [column, path] of usedColumns(e)) checkUse(column, ['events', i, ...path]);
      checkConstants(e, ['events', i], ctx);
    });
    m.purchases?.forEach((p, i) => {
      for (const [column, path] of usedColumns(p)) checkUse(column, ['purchases', i, ...path]);
      checkConstants(p, ['purchases', i], ctx);
    });
  });

/** The field each constant fills, by the same schemas a built event or purchase must pass. */
const CONSTANT_RULES: Record<string, z.ZodType> = {
  name: eventSchema.shape.name,
  time: timeSchema,
  product_id: purchaseSchema.shape.product_id,
  currency: purchaseSchema.shape.currency,
  price: purchaseSchema.shape.price,
  quantity: purchaseSchema.shape.quantity.unwrap(),
};

function checkConstants(
  spec: EventMapping | PurchaseMapping,
  at: (string | number)[],
  ctx: z.RefinementCtx,
): void {
  for (const [key, source] of Object.entries(spec)) {
    const rule = CONSTANT_RULES[key];
    if (!rule || typeof source !== 'object' || source === null || !('value' in source)) continue;
    const result = rule.safeParse(source.value);
    if (result.success) continue;
    const why = result.error.issues[0]?.message ?? 'invalid';
    ctx.addIssue({
      code: 'custom',
      path: [...at, key, 'value'],
      message: `the constant ${JSON.stringify(source.value)} cannot be a ${key}: ${why}`,
    });
  }
}

/** The source columns an event or purchase mapping reads, with where each is named. */
export function usedColumns(spec: EventMapping | PurchaseMapping): [string, string[]][] {
  const out: [string, string[]][] = [];
  for (const [key, source] of Object.entries(spec)) {
    if (key === 'properties' || key === 'app_id' || typeof source !== 'object' || source === null) continue;
    if ('column' in source && typeof source.column === 'string') out.push([source.column, [key]]);
  }
  for (const [prop, column] of Object.entries(spec.properties ?? {}))
    out.push([column, ['properties', prop]]);
  return out;
}

export type Mapping = z.output<typeof mappingSchema>;
