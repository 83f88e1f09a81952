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
    const now = Date.now();
    return Promise.all(
      records.map(async (record) => ({
        record,
        view: runView(record, {
          paused: await isPaused(c, record),
          samples: samples.take(record, now),
          now,
        }),
      })),
    );
  };
  return {
    async recent(limit) {
      return views(await c.runs.recent(limit));
    },
    async one(runId) {
      const record = await c.runs.get(runId);
      if (!record) return undefined;
      return (await views([record]))[0];
    },
  };
}
