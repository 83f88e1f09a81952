import type { ChunkLines } from '../../schemas/track.js';

/**
 * A chunk's source lines while its job waits, packed: in the producer for Redis, in the sender for
 * its send time and Braze's answer (packChunkLines). In the producer: JSON.stringify (as
 * BullMQ writes a job's data) writes them exactly as the ChunkLines they stand for, so the job in
 * Redis, and every worker of any version that reads it, sees no difference.
 *
 * Why: a batch lives through a few round trips, long enough to be promoted to the old generation,
 * and ChunkLines holds one small array per attributes object (75 a chunk). Those arrays were ~60% of
 * what the producer promoted (a 1M-row limit-bound run, `--trace-gc-nvp`: 126 MB promoted and 20
 * full GCs with them, 51 MB and 11 with a job's lines left out). Packed, a chunk holds one array of
 * first lines, and an array of its own only for an object merged from several rows.
 */
export class PackedLines {
  private constructor(
    /** Each attributes object's first line. */
    private readonly first: number[],
    /** The objects with more than one line (merged rows): their index and all their lines. */
    private readonly several: Map<number, number[]> | undefined,
    private readonly events: number[],
    private readonly purchases: number[],
  ) {}

  static of(lines: ChunkLines): PackedLines {
    const all = lines.attributes;
    const first = new Array<number>(all.length);
    let several: Map<number, number[]> | undefined;
    for (let i = 0; i < all.length; i++) {
      const object = all[i]!;
      first[i] = object[0]!;
      if (object.length !== 1) {
        several ??= new Map();
        several.set(i, object);
      }
    }
    return new PackedLines(first, several, lines.events, lines.purchases);
  }

  /** The ChunkLines again, for JSON.stringify. */
  toJSON(): ChunkLines {
    const several = this.several;
    const attributes = this.first.map((line, i) => several?.get(i) ?? [line]);
    return { attributes, events: this.events, purchases: this.purchases };
  }

  /**
   * The lines as ChunkLines to read, the attributes objects' arrays made on the first read of
   * `attributes` (only an answer that names objects, or a chunk cut in two, reads them) and kept.
   */
  asLines(): ChunkLines {
    const packed = this;
    let made: number[][] | undefined;
    return {
      get attributes() {
        made ??= packed.toJSON().attributes;
        return made;
      },
      events: this.events,
      purchases: this.purchases,
    };
  }
}

/**
 * The sender's side: a job's chunks with their lines packed as soon as BullMQ hands it over (it has
 * just parsed them), so that the arrays die young instead of living through the gate's wait and the
 * round trip to Braze in every chunk in flight.
 */
export function packChunkLines(chunks: readonly { lines: ChunkLines }[]): void {
  for (const c of chunks) {
    // A job not of this shape (one added by hand) is left as it came, for the checks that follow.
    if (Array.isArray(c.lines?.attributes)) c.lines = PackedLines.of(c.lines).asLines();
  }
}
