import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { rng } from '../../bench/generate.js';
import { ProfileStore } from '../../src/emulator/store.js';

export interface OrderingFile {
  path: string;
  rows: Array<{ external_id: string; attributes: Record<string, unknown> }>;
  ids: string[];
}

/**
 * A JSONL file in which every user appears `reps` times, its rows far apart (one round of all users
 * per repetition, each round in another order), and some users ten times in a row. Rows set a plain
 * value that tells rows apart (`v`, the row's line), add a tag, and (with `inc`) increment a counter;
 * every third round deep-merges a nested object. Only the file's order gives the right profile.
 */
export function writeOrderingFile(
  dir: string,
  name: string,
  o: { seed: number; users: number; reps: number; inc: boolean },
): OrderingFile {
  const r = rng(o.seed);
  const ids = Array.from({ length: o.users }, (_, i) => `ord-${o.seed}-${i}`);
  const rows: OrderingFile['rows'] = [];
  const row = (id: string, round: number) => {
    const attributes: Record<string, unknown> = {
      v: rows.length + 1,
      level: ['bronze', 'silver', 'gold'][Math.floor(r() * 3)],
      tags: { add: [`t${round % 4}`] },
    };
    if (o.inc) attributes['visits'] = { inc: 1 };
    if (round % 3 === 2) {
      attributes['_merge_objects'] = true;
      attributes['address'] = round % 2 ? { city: `c${round}` } : { zip: `z${round}` };
    }
    rows.push({ external_id: id, attributes });
  };
  for (let round = 0; round < o.reps; round++) {
    const order = [...ids].sort(() => r() - 0.5);
    for (const id of order) row(id, round);
    // Ten rows in a row for a few users: they must become ten requests, in order.
    for (const id of order.slice(0, 5)) for (let k = 0; k < 10; k++) row(id, round);
  }
  const path = join(dir, name);
  writeFileSync(path, `${rows.map((x) => JSON.stringify(x)).join('\n')}\n`);
  return { path, rows, ids };
}

/** Each user's attributes after the file's rows are applied in order (the emulator's Braze rules). */
export function profilesInOrder(rows: OrderingFile['rows']): Map<string, unknown> {
  const store = new ProfileStore(() => 0);
  for (const row of rows)
    store.applyAttributes({ external_id: row.external_id, ...structuredClone(row.attributes) });
  const out = new Map<string, unknown>();
  for (const row of rows) out.set(row.external_id, store.findByExternalId(row.external_id)?.attributes);
  return out;
}
