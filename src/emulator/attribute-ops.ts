/**
 * Braze attribute write semantics on a plain attribute map: null unsets, `{"inc": n}` adds, arrays are sets
 * (unique values, newest 500 kept), `{"add"|"remove": [...]}` edit them, `_merge_objects` deep-merges nested
 * objects, `$add/$remove/$update` edit arrays of objects in that order.
 */
import { operatorKind } from '../validate/nested.js';
import { isPlainObject, type JsonObject } from './json.js';

export const MAX_STRING_LENGTH = 255;
export const MAX_ARRAY_LENGTH = 500;

type Obj = JsonObject;
export function truncate(value: string): string {
  return value.length > MAX_STRING_LENGTH ? value.slice(0, MAX_STRING_LENGTH) : value;
}

function normalize(value: unknown): unknown {
  return typeof value === 'string' ? truncate(value) : value;
}

/** Keeps the first occurrence of each primitive; objects are kept as sent. */
function uniqueCapped(values: unknown[]): unknown[] {
  const seen = new Set<unknown>();
  const out: unknown[] = [];
  for (const raw of values) {
    const v = normalize(raw);
    if (typeof v === 'object' && v !== null) out.push(v);
    else if (!seen.has(v)) {
      seen.add(v);
      out.push(v);
    }
  }
  return out.length > MAX_ARRAY_LENGTH ? out.slice(out.length - MAX_ARRAY_LENGTH) : out;
}

/**
 * Remove first, then add, so `{"add":[x],"remove":[y]}` never loses x to the cap because of y. An added value
 * already present moves to the end; past 500 the oldest values are dropped (FIFO).
 */
function editArray(current: unknown, op: Obj): unknown[] {
  // The stored array belongs to the store, so it is edited in place.
  let arr: unknown[] = Array.isArray(current) ? current : [];
  const remove = op['remove'];
  if (Array.isArray(remove) && remove.length > 0) {
    const gone = new Set(remove.map(normalize));
    arr = arr.filter((v) => !gone.has(v));
  }
  const add = op['add'];
  if (Array.isArray(add)) {
    for (const raw of add) {
      const v = normalize(raw);
      const at = arr.indexOf(v);
      if (at !== -1) arr.splice(at, 1);
      arr.push(v);
    }
  }
  if (arr.length > MAX_ARRAY_LENGTH) arr.splice(0, arr.length - MAX_ARRAY_LENGTH);
  return arr;
}

function matches(item: unknown, spec: unknown): boolean {
  if (!isPlainObject(item) || !isPlainObject(spec)) return false;
  const key = spec['$identifier_key'];
  return typeof key === 'string' && item[key] === spec['$identifier_value'];
}

function editObjectArray(current: unknown, op: Obj, mergeObjects: boolean): unknown[] {
  let arr = Array.isArray(current) ? current.slice() : [];
  const add = op['$add'];
  if (Array.isArray(add)) arr.push(...add);
  const remove = op['$remove'];
  if (Array.isArray(remove)) arr = arr.filter((item) => !remove.some((spec) => matches(item, spec)));
  const update = op['$update'];
  // Braze ignores $update unless _merge_objects is true.
  if (Array.isArray(update) && mergeObjects) {
    for (const spec of update) {
      const patch = isPlainObject(spec) ? spec['$new_object'] : undefined;
      if (!isPlainObject(patch)) continue;
      for (const item of arr) if (matches(item, spec)) deepMerge(item as Obj, patch);
    }
  }
  return arr;
}

/** Merges src into dst in place; null inside a merge removes that key. */
export function deepMerge(dst: Obj, src: Obj): Obj {
  for (const key in src) {
    const v = src[key];
    const existing = dst[key];
    if (v === null) delete dst[key];
    else if (isPlainObject(v) && isPlainObject(existing)) deepMerge(existing, v);
    else dst[key] = v;
  }
  return dst;
}

/** Applies one attribute write to `attrs` (mutated). */
export function applyAttribute(attrs: Obj, rawKey: string, value: unknown, mergeObjects: boolean): void {
  const key = truncate(rawKey);
  if (value === null) {
    delete attrs[key];
    return;
  }
  if (typeof value === 'string') {
    attrs[key] = truncate(value);
    return;
  }
  if (Array.isArray(value)) {
    attrs[key] = uniqueCapped(value);
    return;
  }
  if (!isPlainObject(value)) {
    attrs[key] = value;
    return;
  }
  switch (operatorKind(value)) {
    case 'inc': {
      const base = attrs[key];
      attrs[key] = (typeof base === 'number' ? base : 0) + (value['inc'] as number);
      return;
    }
    case 'array':
      attrs[key] = editArray(attrs[key], value);
      return;
    case 'objects':
      attrs[key] = editObjectArray(attrs[key], value, mergeObjects);
      return;
    default: {
      const existing = attrs[key];
      attrs[key] = mergeObjects && isPlainObject(existing) ? deepMerge(existing, value) : value;
    }
  }
}
