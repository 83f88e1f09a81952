/**
 * FNV-1a (32 bits, unsigned) of an external_id's UTF-16 code units. Modulo the lane count it is the
 * user's lane: only determinism matters there (the same id always lands in the same lane, on every
 * machine and run, so a resumed run rebuilds the same chunks) and a fair spread over the lanes. It is
 * also the user's key in its lane's RecentUsers.
 */
export function idHash(externalId: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < externalId.length; i++) {
    h ^= externalId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * A second 32-bit hash of an external_id (multiply-xorshift over its UTF-16 code units, seeded apart
 * from FNV), never 0: with idHash, a 63-bit key for RecentUsers, so the table holds no strings.
 */
export function idTag(externalId: string): number {
  let h = 0x9e3779b9 ^ externalId.length;
  for (let i = 0; i < externalId.length; i++) {
    h = Math.imul(h ^ externalId.charCodeAt(i), 0x5bd1e995);
    h ^= h >>> 15;
  }
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return ((h ^ (h >>> 16)) | 1) >>> 0;
}

/**
 * The newest chunk (seq) of one lane holding each of its recent users: an open-addressing table over
 * typed arrays, keyed by the id's two hashes (idHash, idTag). The chunker asks it once per object; a
 * Map of strings cost it a tenth of its time in lookups, and keeping the ids themselves to compare
 * held a window's worth of strings alive (48 chunks x 75 users a lane, two tables).
 *
 * Two ids with the same two hashes (about 2^-63 a pair) would share one entry: the table then answers
 * for the pair as for one user, the newest chunk holding either, never older than the truth, so a
 * chunk may wait for one more chunk of its lane but never leaves before one it needs. (Merging rows
 * into one object compares the ids themselves: `attributesAt` in index.ts.)
 * Nothing is ever deleted: the chunker empties the whole table (clear) once it is a window old.
 */
export class RecentUsers {
  /** idTag per slot; 0 is an empty slot. */
  private tags: Uint32Array;
  private hashes: Uint32Array;
  private seqs: Int32Array;
  private mask: number;
  private size = 0;

  constructor(capacity = 256) {
    const n = 2 ** Math.ceil(Math.log2(Math.max(capacity, 8)));
    this.tags = new Uint32Array(n);
    this.hashes = new Uint32Array(n);
    this.seqs = new Int32Array(n);
    this.mask = n - 1;
  }

  /** The seq stored for this user, or -1. `hash` is idHash(id), `tag` idTag(id). */
  get(hash: number, tag: number): number {
    const tags = this.tags;
    for (let at = slotOf(hash) & this.mask; ; at = (at + 1) & this.mask) {
      const found = tags[at]!;
      if (found === 0) return -1;
      if (found === tag && this.hashes[at] === hash) return this.seqs[at]!;
    }
  }

  set(hash: number, tag: number, seq: number): void {
    if ((this.size + 1) * 2 > this.tags.length) this.grow();
    const tags = this.tags;
    for (let at = slotOf(hash) & this.mask; ; at = (at + 1) & this.mask) {
      const found = tags[at]!;
      if (found === 0) {
        tags[at] = tag;
        this.hashes[at] = hash;
        this.seqs[at] = seq;
        this.size++;
        return;
      }
      if (found === tag && this.hashes[at] === hash) {
        this.seqs[at] = seq;
        return;
      }
    }
  }

  clear(): void {
    if (this.size === 0) return;
    this.tags.fill(0);
    this.size = 0;
  }

  private grow(): void {
    const { tags, hashes, seqs } = this;
    const n = tags.length * 2;
    this.tags = new Uint32Array(n);
    this.hashes = new Uint32Array(n);
    this.seqs = new Int32Array(n);
    this.mask = n - 1;
    this.size = 0;
    for (let at = 0; at < tags.length; at++) {
      if (tags[at] !== 0) this.set(hashes[at]!, tags[at]!, seqs[at]!);
    }
  }
}

/** Spreads the hash over the slots: within a lane, the low bits of the FNV hash are all alike. */
function slotOf(hash: number): number {
  const h = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}
