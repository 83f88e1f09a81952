import type { RawRow, Rejection, RowBatches, UserRecord } from '../../schemas/record.js';
import { SYNC_COUNTERS, type SyncCounts } from '../runs/store.js';
import { type Change, changeOf } from './changes.js';
import { holdsValues, NULL_HASH } from './hash.js';
import type { ChangeRecord, RecordMeta } from './record.js';

export type { SyncCounts };

export function emptySyncCounts(): SyncCounts {
  return Object.fromEntries(SYNC_COUNTERS.map((c) => [c, 0])) as SyncCounts;
}

export interface SyncFilterOptions {
  record: ChangeRecord;
  meta: RecordMeta;
  /** This sync's mark (record.newMark()). */
  mark: number;
  /** Send every row as it is (the record is still looked up and refreshed). */
  full: boolean;
  /** Put the mark on every user looked up (a real sync; a dry run marks too, see LOOKUP). */
  write: boolean;
  /** Rows a lookup covers (one Redis call); 512 by default. */
  batch?: number;
}

/**
 * The rows of a sync, validated and then cut down to what changed: a stage between the validator and
 * the chunker. Rows are read ahead by a batch, looked up together, and handed on in their order with
 * their outcome already decided; `validate` returns that outcome (an unchanged user becomes a record
 * with nothing to send, still counted as a valid row).
 */
export function filterRows(
  batches: RowBatches,
  validate: (row: RawRow) => UserRecord | Rejection,
  o: SyncFilterOptions,
): {
  rows: RowBatches;
  validate: (row: RawRow) => UserRecord | Rejection;
  counts: SyncCounts;
  /** The last line read so far (mirror unsets are numbered after it). */
  lastLine: () => number;
} {
  const batch = o.batch ?? 512;
  const counts = emptySyncCounts();
  const decided = new WeakMap<RawRow, UserRecord | Rejection>();
  const decide = async (pending: Array<{ row: RawRow; rec: UserRecord }>) => {
    const found = await o.record.lookup(
      pending.map((p) => p.rec.externalId),
      o.mark,
      o.meta.buckets,
      o.write,
    );
    pending.forEach(({ row, rec }, i) => {
      const f = found[i]!;
      // What changed, also under --full (which sends every row anyway): the counts say what differed.
      const c: Change = changeOf(rec, f, o.meta.slots);
      const send = o.full ? rec : c.send;
      if (!o.full) {
        counts.attributesSkipped += c.skipped;
        counts.dataPointsSaved += c.saved;
      }
      if (!c.send) counts.usersUnchanged++;
      // An entry with no values: looked up before (a dry run, a failed chunk) but never accepted.
      else if (f === 'new' || (f !== 'dup' && !holdsValues(f))) counts.usersNew++;
      else counts.usersChanged++;
      decided.set(row, send ?? { line: rec.line, externalId: rec.externalId });
    });
  };
  let last = 0;
  async function* staged(): AsyncGenerator<readonly RawRow[]> {
    let held: RawRow[] = [];
    let pending: Array<{ row: RawRow; rec: UserRecord }> = [];
    for await (const rows of batches) {
      for (const row of rows) {
        const r = validate(row);
        if (row.line > last) last = row.line;
        decided.set(row, r);
        held.push(row);
        if (!('code' in r)) pending.push({ row, rec: r });
        if (held.length >= batch) {
          await decide(pending);
          yield held;
          held = [];
          pending = [];
        }
      }
    }
    await decide(pending);
    if (held.length > 0) yield held;
  }
  return {
    rows: staged(),
    validate: (row) => decided.get(row) ?? validate(row),
    counts,
    lastLine: () => last,
  };
}

/**
 * Mirror mode's last step: every user the record knows that this sync did not see (no mark) gets its
 * synced attributes set to null. Lines are numbered on from `firstLine`, after the input's.
 */
export async function* unsetMissing(
  record: ChangeRecord,
  mark: number,
  firstLine: number,
  counts: SyncCounts,
): AsyncGenerator<UserRecord> {
  const meta = await record.meta();
  const names: string[] = [];
  for (const [name, slot] of meta.slots) names[slot] = name;
  let line = firstLine;
  for await (const { id, entry } of record.missing(mark, meta.buckets)) {
    if (!holdsValues(entry)) continue;
    const attributes: Record<string, unknown> = {};
    entry.slots.forEach((h, slot) => {
      const name = names[slot];
      if (h !== 0 && h !== NULL_HASH && name !== undefined) attributes[name] = null;
    });
    counts.usersUnset++;
    yield { line: line++, externalId: id, attributes };
  }
}
