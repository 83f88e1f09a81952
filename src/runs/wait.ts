import { FINAL_STATUSES, type RunRecord, type RunStore } from './store.js';

/** Polls the run record until it reaches a final status, or until `stop()` says to give up waiting. */
export async function waitForRun(
  runs: RunStore,
  runId: string,
  opts: {
    pollMs?: number;
    stop?: () => boolean;
    onTick?: (run: RunRecord) => void;
    /** Done before a final status (default: a final status). */
    done?: (run: RunRecord) => boolean;
  } = {},
): Promise<RunRecord> {
  for (;;) {
    const run = await runs.get(runId);
    if (!run) throw new Error(`run ${runId} disappeared from Redis`);
    opts.onTick?.(run);
    if ((opts.done ? opts.done(run) : FINAL_STATUSES.has(run.status)) || opts.stop?.()) return run;
    await new Promise((r) => setTimeout(r, opts.pollMs ?? 100));
  }
}
