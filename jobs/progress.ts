import { formatEta } from '../src/control/progress.js';
import { stderrTty } from '../src/infra/tty.js';
import type { RunRecord } from '../src/runs/store.js';

/**
 * The progress line of `run` on a terminal (never with --json, never in logs): how much of the input
 * is read, objects accepted of those queued so far, rows and requests per second, and an ETA. It
 * shares the terminal with the log lines (src/infra/tty.ts) and fits its width.
 */
export interface Progress {
  update(run: RunRecord): void;
  /** A line that stays above the progress line (the warning after the first Ctrl-C). */
  note(text: string): void;
  /** Removes the progress line, before the summary. */
  stop(): void;
}

const n = (v: number) => Math.round(v).toLocaleString('en-US');

/** `1:05`, `1:02:05`: the dashboard's clock format (src/control/progress.ts). */
export const formatDuration = (ms: number): string => formatEta(ms);

/** Rates over the last few seconds, from successive samples of a counter. */
function rate(samples: Array<{ at: number; v: number }>): number {
  const first = samples[0];
  const last = samples[samples.length - 1];
  if (!first || !last || last.at <= first.at) return 0;
  return ((last.v - first.v) * 1000) / (last.at - first.at);
}

/** The text of the progress line for a run at `now`; pure, so it is tested without a terminal. */
export function progressText(
  run: RunRecord,
  rowsPerSec: number,
  requestsPerSec: number,
  acceptedPerSec: number,
  now: number,
): string {
  const parts: string[] = [];
  const size = run.inputBytes ?? 0;
  const readShare = run.producerDone ? 1 : size > 0 ? Math.min(1, run.bytesRead / size) : undefined;
  if (readShare !== undefined) parts.push(`${Math.floor(readShare * 100)}% read`);
  else parts.push(`${n(run.rowsRead)} rows read`);
  const settled = Math.min(run.objects, run.objectsAccepted + run.objectsFailed);
  parts.push(`${n(Math.min(run.objectsAccepted, run.objects))}/${n(run.objects)} accepted`);
  if (run.objectsFailed > 0) parts.push(`${n(run.objectsFailed)} failed`);
  parts.push(`${n(rowsPerSec)} rows/s`, `${n(requestsPerSec)} req/s`);
  parts.push(`ETA ${eta(run, readShare, settled, acceptedPerSec, now)}`);
  return ` ${parts.join(' | ')}`;
}

function eta(
  run: RunRecord,
  readShare: number | undefined,
  settled: number,
  acceptedPerSec: number,
  now: number,
): string {
  const elapsed = now - run.createdAt;
  if (!run.producerDone) {
    if (!readShare || readShare <= 0.01 || elapsed < 2000) return '--:--';
    return formatDuration((elapsed * (1 - readShare)) / readShare);
  }
  const left = run.objects - settled;
  if (left <= 0) return '0:00';
  return acceptedPerSec > 0 ? formatDuration((left / acceptedPerSec) * 1000) : '--:--';
}

export function createProgress(enabled: boolean): Progress {
  const tty = stderrTty();
  if (!enabled) return { update() {}, note: (text) => process.stderr.write(`${text}\n`), stop() {} };
  const samples: Array<{ at: number; rows: number; requests: number; accepted: number }> = [];
  let stopped = false;
  return {
    update(run) {
      if (stopped) return;
      const at = Date.now();
      samples.push({ at, rows: run.rowsRead, requests: run.requestsSent, accepted: run.objectsAccepted });
      while (samples.length > 2 && at - (samples[0]?.at ?? at) > 5000) samples.shift();
      const of = (k: 'rows' | 'requests' | 'accepted') => rate(samples.map((s) => ({ at: s.at, v: s[k] })));
      tty.status(progressText(run, of('rows'), of('requests'), of('accepted'), at));
    },
    note(text) {
      tty.write(text);
    },
    stop() {
      stopped = true;
      tty.clear();
    },
  };
}
