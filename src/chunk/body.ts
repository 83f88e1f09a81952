/**
 * Byte accounting for a /users/track body from the sizes of its objects' JSON (src/chunk/pieces.ts
 * makes each object's text once): the body's exact size without joining it.
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
