/**
 * Request bodies as UTF-8 bytes, written into a few reused slabs instead of a fresh buffer each.
 *
 * A body lives from its chunk's close until Redis has it: through the batch's claim and store round
 * trips, long enough for its buffer to be promoted. Every buffer of its own is memory outside the
 * V8 heap that a promoted buffer holds until a full GC, and V8 counts it toward starting one: at
 * ~22 KB a body, 1M rows allocated ~290 MB of them and the producer ran 45-48 full GCs per 1M rows,
 * 15 with slabs (1M-row runs, the main thread; measured with --trace-gc-nvp).
 *
 * A slab is written again only once every body in it has been released (its bytes are in Redis):
 * a view handed out is never overwritten while its holder may still read it. Bodies larger than a
 * quarter of a slab get a buffer of their own. The plain reference is Buffer.from(json): the bytes
 * are the same (test/unit/body-slabs.test.ts).
 */

/** Bytes of one slab: ~45 bodies of 75 typical objects; a batch in flight spans one or two. */
export const SLAB_BYTES = 1 << 20;
/** Slabs kept for reuse once free; more are left to the GC (a run has ~3 in use at a time). */
const MAX_FREE = 4;

interface Slab {
  buf: Buffer;
  used: number;
  /** Bodies handed out from it and not yet released. */
  pending: number;
}

export interface BodySlabs {
  /**
   * The UTF-8 bytes of `json`, whose UTF-8 size is `bytes`: a view into a slab, valid until it is
   * released (after that its bytes may be overwritten), or for a large body a buffer of its own.
   */
  encode(json: string, bytes: number): Buffer;
  /** The holder of `body` is done with it (Redis has it): its slab may be reused once all of its are. */
  release(body: Buffer): void;
  /** Slabs allocated so far (diagnostics and tests). */
  allocated(): number;
}

export function createBodySlabs(slabBytes = SLAB_BYTES): BodySlabs {
  // Keyed by the ArrayBuffer a view shares with its slab: a body of its own is not found, nor is a
  // view of a slab that has been dropped (nothing then is reused).
  const owners = new WeakMap<ArrayBufferLike, Slab>();
  // The views handed out and not yet released: a second release of one must not free another's place.
  const out = new WeakSet<Buffer>();
  const free: Slab[] = [];
  let current: Slab | undefined;
  let allocated = 0;

  const retire = (slab: Slab) => {
    if (slab.pending === 0 && free.length < MAX_FREE) free.push(slab);
  };
  const next = (): Slab => {
    const reused = free.pop();
    if (reused) {
      reused.used = 0;
      return reused;
    }
    allocated++;
    const slab: Slab = { buf: Buffer.allocUnsafeSlow(slabBytes), used: 0, pending: 0 };
    owners.set(slab.buf.buffer, slab);
    return slab;
  };

  return {
    encode(json, bytes) {
      if (bytes > slabBytes / 4) return Buffer.from(json, 'utf8');
      // Written with room for one more character (UTF-8: at most 4 bytes): a text longer than
      // `bytes` then writes more, so a size that is not the text's (never, from the chunker) is seen
      // without measuring the text again, and gets a buffer of its own.
      if (!current || current.used + bytes + 4 > slabBytes) {
        if (current) retire(current);
        current = next();
      }
      const at = current.used;
      if (current.buf.write(json, at, bytes + 4, 'utf8') !== bytes) return Buffer.from(json, 'utf8');
      current.used += bytes;
      current.pending++;
      const view = current.buf.subarray(at, at + bytes);
      out.add(view);
      return view;
    },
    release(body) {
      const slab = owners.get(body.buffer);
      if (!slab || !out.delete(body)) return;
      slab.pending--;
      if (slab !== current) retire(slab);
    },
    allocated: () => allocated,
  };
}
