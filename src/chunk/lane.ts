/**
 * The lane of a user: FNV-1a (32 bits) of its external_id's UTF-16 code units, modulo the lane count.
 * Only determinism matters (the same id always lands in the same lane, on every machine and run, so
 * a resumed run rebuilds the same chunks) and a fair spread over the lanes.
 */
export function laneOf(externalId: string, lanes: number): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < externalId.length; i++) {
    h ^= externalId.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return (h >>> 0) % lanes;
}
