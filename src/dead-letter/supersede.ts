import type { DeadLetter } from '../../schemas/dead-letter.js';
import type { RunStore } from '../runs/store.js';

/** What a replay left out because newer rows of the same run had written it since. */
export interface Superseded {
  /** Attributes left out of letters that were still replayed for their other attributes. */
  attributes: number;
  /** Letters with nothing left to send. */
  letters: number;
}

const isInc = (v: unknown) =>
  typeof v === 'object' && v !== null && Object.keys(v).length === 1 && 'inc' in v;

/**
 * Dead letters of `runId` without what later accepted rows of the same user wrote (recorded while
 * the run sent them; see src/runs/scripts/later.ts): a replay never puts an older value back over a
 * newer one. An increment is kept when the later rows only incremented the key too (increments add
 * up in any order); anything else they wrote wins. Events and purchases are never superseded.
 */
export async function* withoutSuperseded(
  letters: AsyncIterable<DeadLetter>,
  runs: Pick<RunStore, 'laterWrites'>,
  runId: string,
  tally: Superseded,
): AsyncGenerator<DeadLetter> {
  for await (const dl of letters) {
    const v = dl.record?.format === 'json' ? dl.record.value : undefined;
    const attrs =
      typeof v === 'object' && v !== null ? (v as Record<string, unknown>)['attributes'] : undefined;
    const id = (v as { external_id?: unknown } | undefined)?.external_id;
    if (dl.stage === 'rejected' || typeof attrs !== 'object' || attrs === null || typeof id !== 'string') {
      yield dl;
      continue;
    }
    const entries = Object.entries(attrs as Record<string, unknown>);
    const names = entries.filter(([k]) => !k.startsWith('_')).map(([k]) => k);
    const later = await runs.laterWrites(runId, id, names);
    const line = Math.max(dl.line, ...(dl.lines ?? []));
    const gone = new Set(
      names.filter((k, i) => {
        const w = later[i]!;
        return w.set > line || (w.inc > line && !isInc((attrs as Record<string, unknown>)[k]));
      }),
    );
    if (gone.size === 0) {
      yield dl;
      continue;
    }
    if (gone.size === names.length) {
      tally.letters++;
      continue;
    }
    tally.attributes += gone.size;
    const kept = Object.fromEntries(entries.filter(([k]) => !gone.has(k)));
    yield { ...dl, record: { format: 'json', value: { ...(v as object), attributes: kept } } };
  }
}
