/**
 * What the change record keeps of a user (src/sync/record.ts): a 4-byte mark (the last sync that saw
 * the user), then for each attribute a 32-bit hash of its value as sent (its JSON), at the attribute's
 * slot in the record (names get slots in the order first committed, and keep them); 0 is a slot never
 * synced. A 12-column export costs 52 bytes a user plus its id. Pure.
 */

/** FNV-1a over UTF-16 code units: 32 bits, never 0 (0 marks an empty slot). */
export function hash32(text: string, seed = 0x811c9dc5): number {
  let h = seed;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0 || 1;
}

/** The hash of an attribute's value as Braze receives it. */
export function valueHash(value: unknown): number {
  return hash32(JSON.stringify(value) ?? 'undefined');
}

/** The hash of null: a slot holding it is an attribute the record knows as unset. */
export const NULL_HASH = valueHash(null);

/**
 * Buckets of a new record (kept in its meta, so a record keeps its own): 16,384 Redis hashes. A
 * million users is ~61 a bucket, well inside Redis's compact listpack encoding (128 entries, values
 * of 64 bytes: up to 15 attributes a user); beyond ~2M users, or 15 attributes, buckets turn into
 * ordinary hash tables and a user costs about twice as much.
 */
export const DEFAULT_BUCKETS = 16_384;

export function bucketOf(externalId: string, buckets: number): number {
  return hash32(externalId, 0x9747b28c) % buckets;
}

/** A 32-bit number as the 4 bytes Lua compares and splices. */
export function u32(n: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32BE(n >>> 0);
  return b;
}

/** A user's entry: its mark and its slots' hashes. */
export interface Entry {
  mark: number;
  slots: number[];
}

export function decodeEntry(bytes: Buffer): Entry {
  const slots: number[] = [];
  for (let i = 4; i + 4 <= bytes.length; i += 4) slots.push(bytes.readUInt32BE(i));
  return { mark: bytes.length >= 4 ? bytes.readUInt32BE(0) : 0, slots };
}

export function encodeEntry(e: Entry): Buffer {
  const out = Buffer.alloc(4 + e.slots.length * 4);
  out.writeUInt32BE(e.mark >>> 0, 0);
  e.slots.forEach((h, i) => {
    out.writeUInt32BE(h >>> 0, 4 + i * 4);
  });
  return out;
}

/** Synced attributes an entry holds: slots that are neither empty nor unset. */
export function holdsValues(e: Entry): boolean {
  return e.slots.some((h) => h !== 0 && h !== NULL_HASH);
}
