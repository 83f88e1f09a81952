import { setTimeout as sleep } from 'node:timers/promises';
import {
  addSample,
  formatDuration,
  formatEta,
  formatStart,
  progressOf,
  type Sample,
} from '../src/control/progress.js';
import { kindOf } from '../src/control/run-kind.js';
import { ownerIsDead } from '../src/runs/owner.js';
import { FINAL_STATUSES, type RunRecord } from '../src/runs/store.js';
import { exitCodeFor, formatSummary, summarize } from '../src/runs/summary.js';
import { out } from './common.js';
import type { StateContext } from './state.js';

const n = (v: number) => v.toLocaleString('en-US');

/** Columns padded to their widest cell; numbers right-aligned; the last column (source) left as is. */
export function alignColumns(rows: string[][], numeric: readonly boolean[]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => {
          if (c === r.length - 1) return cell;
          return numeric[c] ? cell.padStart(widths[c] ?? 0) : cell.padEnd(widths[c] ?? 0);
        })
        .join('  ')
        .trimEnd(),
    )
    .join('\n');
}

const HEADER = [
  'RUN',
  'KIND',
  'STATUS',
  'STARTED',
  'DURATION',
  'ROWS',
  'REJECTED',
  'ACCEPTED',
  'FAILED',
  'NOT SENT',
  'DEAD LETTERS',
  'SOURCE',
];
const NUMERIC = [false, false, false, false, true, true, true, true, true, true, true, false];

/** `status --all`: one line per run, newest first. */
export function runsTable(runs: readonly RunRecord[], now: number): string {
  if (runs.length === 0) return 'No runs yet.';
  const rows = runs.map((run) => {
    const dead = run.owner !== undefined && ownerIsDead(run.owner);
    const s = summarize(run, now, dead);
    return [
      s.runId,
      kindOf(run),
      s.status,
      formatStart(run.createdAt),
      formatDuration(s.durationMs),
      n(s.rows.read),
      n(s.rows.rejected),
      n(s.objects.accepted),
      n(s.objects.failed),
      n(s.objects.notAttempted),
      n(s.deadLetters),
      s.source,
    ];
  });
  return alignColumns([HEADER, ...rows], NUMERIC);
}

/** The line `status --watch` keeps refreshing. */
export function watchLine(run: RunRecord, samples: readonly Sample[], now: number): string {
  const s = summarize(run, now);
  const p = progressOf(run, samples, !FINAL_STATUSES.has(s.status), now);
  const read =
    p.readShare === undefined ? `${n(s.rows.read)} rows read` : `${Math.floor(p.readShare * 100)}% read`;
  const parts = [
    `${s.runId} ${s.status}`,
    read,
    `${n(p.accepted)}/${n(s.objects.total)} accepted`,
    `${n(p.rejected)} rejected`,
    `${n(p.failed)} failed`,
    `${n(Math.round(p.rate))} obj/s`,
    `ETA ${formatEta(p.etaMs)}`,
    `${n(s.requests.rateLimited)} 429s`,
  ];
  if (s.possibleDuplicates > 0) parts.push(`${n(s.possibleDuplicates)} possible dups`);
  return parts.join(' | ');
}

/**
 * Redraws the run's line every second (on a terminal in place; elsewhere a new line when it changes)
 * until the run reaches a final status, then prints its summary. Returns the run's exit code.
 */
export async function watchRun(
  ctx: StateContext,
  runId: string,
  o: { json: boolean; everyMs?: number },
): Promise<number> {
  const tty = Boolean(process.stdout.isTTY) && !o.json;
  let samples: Sample[] = [];
  let last = '';
  for (;;) {
    const run = await ctx.runs.get(runId);
    if (!run) throw new Error(`run ${runId} disappeared from Redis`);
    const now = Date.now();
    samples = addSample(samples, run, now);
    const dead = run.owner !== undefined && ownerIsDead(run.owner);
    const summary = summarize(run, now, dead);
    const ended = FINAL_STATUSES.has(summary.status);
    if (!o.json) {
      const line = watchLine(run, samples, now);
      if (tty) process.stdout.write(`\r\x1b[K${line}`);
      else if (line !== last) out(line);
      last = line;
    }
    if (ended) {
      if (tty) process.stdout.write('\n');
      out(o.json ? JSON.stringify(summary) : formatSummary(summary));
      return exitCodeFor(summary.status);
    }
    await sleep(o.everyMs ?? 1000);
  }
}
