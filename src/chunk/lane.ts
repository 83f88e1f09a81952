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
 * The newest chunk (seq) of one lane holding each of its recent users: an open-addressing table over
 * typed arrays, keyed by the id's hash and checked against the id itself (so never a false match).
 * The chunker asks it once per object; a Map of strings cost it a tenth of its time in lookups.
 * Nothing is ever deleted: the chunker drops the whole table (clear) once it is a window old.
 */
export class RecentUsers {
  private ids: (string | undefined)[];
  private hashes: Uint32Array;
  private seqs: Int32Array;
  private mask: number;
  private size = 0;

  constructor(capacity = 256) {
    const n = 2 ** Math.ceil(Math.log2(Math.max(capacity, 8)));
    this.ids = new Array<string | undefined>(n).fill(undefined);
    this.hashes = new Uint32Array(n);
    this.seqs = new Int32Array(n);
    this.mask = n - 1;
  }

  /** The seq stored for this user, or -1. `hash` is idHash(id). */
  get(id: string, hash: number): number {
    const ids = this.ids;
    for (let at = slotOf(hash) & this.mask; ; at = (at + 1) & this.mask) {
      const found = ids[at];
      if (found === undefined) return -1;
      if (this.hashes[at] === hash && found === id) return this.seqs[at]!;
    }
  }

  set(id: string, hash: number, seq: number): void {
    if ((this.size + 1) * 2 > this.ids.length) this.grow();
    const ids = this.ids;
    for (let at = slotOf(hash) & this.mask; ; at = (at + 1) & this.mask) {
      const found = ids[at];
      if (found === undefined) {
        ids[at] = id;
        this.hashes[at] = hash;
        this.seqs[at] = seq;
        this.size++;
        return;
      }
      if (this.hashes[at] === hash && found === id) {
        this.seqs[at] = seq;
        return;
      }
    }
  }

  clear(): void {
    if (this.size === 0) return;
    this.ids.fill(undefined);
    this.size = 0;
  }

  private grow(): void {
    const { ids, hashes, seqs } = this;
    this.ids = new Array<string | undefined>(ids.length * 2).fill(undefined);
    this.hashes = new Uint32Array(ids.length * 2);
    this.seqs = new Int32Array(ids.length * 2);
    this.mask = ids.length * 2 - 1;
    this.size = 0;
    for (let at = 0; at < ids.length; at++) {
      const id = ids[at];
      if (id !== undefined) this.set(id, hashes[at]!, seqs[at]!);
    }
  }
}

/** Spreads the hash over the slots: within a lane, the low bits of the FNV hash are all alike. */
function slotOf(hash: number): number {
  const h = Math.imul(hash ^ (hash >>> 16), 0x45d9f3b);
  return (h ^ (h >>> 16)) >>> 0;
}
