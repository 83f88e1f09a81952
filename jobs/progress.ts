import { createRequire } from 'node:module';
import type { RunRecord } from '../src/runs/store.js';

/**
 * A progress line on stderr when it is a terminal (never with --json, never in logs): objects
 * accepted out of those queued so far, with rows read and dead letters beside it.
 */
export function createProgress(enabled: boolean): { update(run: RunRecord): void; stop(): void } {
  if (!enabled) return { update() {}, stop() {} };
  // Loaded only for a terminal.
  const { SingleBar } = createRequire(import.meta.url)('cli-progress') as typeof import('cli-progress');
  const bar = new SingleBar({
    stream: process.stderr,
    format:
      ' {bar} {percentage}% | {value}/{total} objects accepted | {rows} rows read | {dead} dead letters | {eta_formatted}',
    hideCursor: true,
    clearOnComplete: true,
    barsize: 24,
  });
  let started = false;
  return {
    update(run) {
      const payload = { rows: run.rowsRead.toLocaleString('en-US'), dead: run.deadLetters };
      if (!started) {
        bar.start(Math.max(run.objects, 1), run.objectsAccepted, payload);
        started = true;
      }
      bar.setTotal(Math.max(run.objects, 1));
      bar.update(run.objectsAccepted + run.objectsFailed, payload);
    },
    stop() {
      if (started) bar.stop();
      started = false;
    },
  };
}
