import type { DeadLetter } from '../../schemas/dead-letter.js';

/** Columns every export adds after the record's own. */
export const ERROR_COLUMNS = ['_error_code', '_error_message', '_source_line'] as const;
/** Added (as "true") to a letter whose chunk may already be in Braze; the column exists only then. */
export const MAYBE_COLUMN = '_maybe_delivered';

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** A cell as the CSV reader would cast it back: strings as they are, everything else as JSON. */
function cell(v: unknown): string {
  if (v === null) return 'null';
  if (typeof v === 'string') return v;
  return JSON.stringify(v);
}

/**
 * The dead letter as a flat row in the input's own shape: CSV cells as read, or a Braze attributes
 * object flattened to columns, or an unparsed line's text under `_record`. Events and purchases have
 * no flat shape: `undefined` (JSONL only).
 */
export function flatRow(dl: DeadLetter): Record<string, string> | undefined {
  const rec = dl.record;
  const errors: Record<string, string> = {
    _error_code: dl.code,
    _error_message: dl.message,
    _source_line: String(dl.line),
  };
  if (dl.maybeDelivered) errors[MAYBE_COLUMN] = 'true';
  if (!rec) return { ...errors };
  if (rec.format === 'csv') return { ...rec.values, ...errors };
  const v = rec.value;
  // A line that never parsed (bad CSV, bad JSON, not an object): its text, so it can be fixed by hand.
  if (!isObject(v)) return { _record: typeof v === 'string' ? v : (JSON.stringify(v) ?? ''), ...errors };
  if ('events' in v || 'purchases' in v) return undefined;
  const attrs = isObject(v['attributes']) ? v['attributes'] : {};
  const flat: Record<string, string> = {};
  const plain = Object.entries(v).filter(([k]) => k !== 'attributes');
  for (const [k, val] of [...plain, ...Object.entries(attrs)]) flat[k] = cell(val);
  return { ...flat, ...errors };
}

/**
 * The dead letter as one JSONL line: the line as it was written when we have it (so what JSON.parse
 * cannot represent survives the round trip), else the record as parsed; the error columns added.
 */
export function jsonLine(dl: DeadLetter): string {
  const rec = dl.record;
  const text = rec?.format === 'json' ? rec.text?.trim() : undefined;
  if (rec?.format !== 'json' || text === undefined || !text.startsWith('{') || !isObject(rec.value)) {
    return JSON.stringify(jsonRow(dl));
  }
  const errors = JSON.stringify(errorFields(dl));
  const inner = text.slice(1, -1).trim();
  return inner === '' ? errors : `{${inner},${errors.slice(1)}`;
}

/** The dead letter as one JSONL object: the record as given plus the error columns. */
function errorFields(dl: DeadLetter): Record<string, unknown> {
  const fields: Record<string, unknown> = {
    _error_code: dl.code,
    _error_message: dl.message,
    _source_line: dl.line,
  };
  if (dl.maybeDelivered) fields[MAYBE_COLUMN] = true;
  return fields;
}

export function jsonRow(dl: DeadLetter): Record<string, unknown> {
  const rec = dl.record;
  const errors = errorFields(dl);
  if (!rec) return errors;
  if (rec.format === 'csv') return { ...rec.values, ...errors };
  return isObject(rec.value) ? { ...rec.value, ...errors } : { _record: rec.value, ...errors };
}
