import { isPaused, type RunControl } from '../control/run-actions.js';
import type { RunRecord } from '../runs/store.js';
import { RateSamples, type RunView, runView } from './run-view.js';

export interface RunsData {
  /** The most recent runs, newest first, with their views. */
  recent(limit: number): Promise<Array<{ record: RunRecord; view: RunView }>>;
  one(runId: string): Promise<{ record: RunRecord; view: RunView } | undefined>;
}

/** Reads runs for pages and the JSON API; keeps each run's recent samples for its rate and ETA. */
export function createRunsData(c: RunControl): RunsData {
  const samples = new RateSamples();
  const views = async (records: RunRecord[]) => {
    const kinds = records.map((r) => r.kind);
    const now = Date.now();
    return Promise.all(
      records.map(async (record, i) => ({
        record,
        view: runView(record, {
          kind: kinds[i],
          paused: await isPaused(c, record),
          samples: samples.take(record, now),
          now,
        }),
      })),
    );
  };
  return {
    async recent(limit) {
      const ids = await c.runs.list(limit);
      const records = await Promise.all(ids.map((id) => c.runs.get(id)));
      return views(records.filter((r) => r !== undefined));
    },
    async one(runId) {
      const record = await c.runs.get(runId);
      if (!record) return undefined;
      return (await views([record]))[0];
    },
  };
}
