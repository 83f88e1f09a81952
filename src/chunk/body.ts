/**
 * Byte accounting for a /users/track body without serialising it: the body's size is derived from
 * the sizes of its objects. The chunker prices objects with `jsonBytesBound` (lengths only, never
 * less than the real size) and asks `jsonBytes` (exact) only when the bounds say a body might pass
 * its limit, which ordinary rows never come near.
 */

export const KINDS = ['attributes', 'events', 'purchases'] as const;
export type Kind = (typeof KINDS)[number];

/** `"attributes":[` + `]` and friends. */
const ARRAY_OVERHEAD: Record<Kind, number> = {
  attributes: '"attributes":[]'.length,
  events: '"events":[]'.length,
  purchases: '"purchases":[]'.length,
};

export interface Tally {
  count: Record<Kind, number>;
  bytes: Record<Kind, number>;
}

export function emptyTally(): Tally {
  return {
    count: { attributes: 0, events: 0, purchases: 0 },
    bytes: { attributes: 0, events: 0, purchases: 0 },
  };
}

/** Size of `{"attributes":[o1,o2],"events":[o3]}` from the sizes of o1..o3. */
export function bodyBytes(t: Tally): number {
  let total = 2;
  let arrays = 0;
  for (const kind of KINDS) {
    const n = t.count[kind];
    if (n === 0) continue;
    total += ARRAY_OVERHEAD[kind] + t.bytes[kind] + (n - 1);
    arrays++;
  }
  return arrays > 1 ? total + arrays - 1 : total;
}

/** Body size if one object of `kind` with `size` bytes were added (or grew by `size` when merging). */
export function bytesWith(t: Tally, kind: Kind, size: number, added: 0 | 1): number {
  t.count[kind] += added;
  t.bytes[kind] += size;
  const total = bodyBytes(t);
  t.count[kind] -= added;
  t.bytes[kind] -= size;
  return total;
}

/** The body of a chunk holding just this one object: the floor for any object's size. */
export function aloneBytes(kind: Kind, size: number): number {
  return 2 + ARRAY_OVERHEAD[kind] + size;
}

/** Exactly Buffer.byteLength(JSON.stringify(value)): the chunker asks only near a body's limit. */
export function jsonBytes(value: unknown): number {
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

/** The most bytes one UTF-16 unit can take in JSON: a control character written as \u001f. */
const MAX_BYTES_PER_UNIT = 6;
/** The longest JSON a number can take ("-1.2345678901234567e-308"). */
const MAX_NUMBER_BYTES = 24;

/**
 * An upper bound of jsonBytes(value) from string lengths alone: every character priced as the
 * longest escape, every number as the longest number. About 10x cheaper than jsonBytes on typical
 * rows; only needs to be exact when a body nears its limit, and the chunker then asks jsonBytes.
 */
export function jsonBytesBound(value: unknown, depth = 0): number {
  switch (typeof value) {
    case 'string':
      return value.length * MAX_BYTES_PER_UNIT + 2;
    case 'number':
      return MAX_NUMBER_BYTES;
    case 'boolean':
      return 5;
    case 'object': {
      if (value === null) return 4;
      if (depth > 64 || typeof (value as { toJSON?: unknown }).toJSON === 'function') return jsonBytes(value);
      if (Array.isArray(value)) {
        let n = value.length + 2;
        for (const item of value) n += jsonBytesBound(item, depth + 1);
        return n;
      }
      let n = 2;
      const record = value as Record<string, unknown>;
      for (const key in record) {
        if (!Object.hasOwn(record, key)) continue;
        n += key.length * MAX_BYTES_PER_UNIT + 4 + jsonBytesBound(record[key], depth + 1);
      }
      return n;
    }
    default:
      // undefined, a function or a symbol: JSON writes `null` for one inside an array and leaves an
      // object's key out, so the 4 bytes of `null` bound both.
      return 4;
  }
}
