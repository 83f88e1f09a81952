import { addSample, progressOf, type Sample } from '../control/progress.js';
import { kindOf, type RunKind } from '../control/run-kind.js';
import { ownerIsDead } from '../runs/owner.js';
import { FINAL_STATUSES, type RunRecord } from '../runs/store.js';
import { summarize } from '../runs/summary.js';

/**
 * A run as the dashboard shows it (pages and `/api/runs`): counts and progress, never user data nor
 * server paths. `source` is the input's file name only; `reason` has Braze's answer text removed.
 */
export interface RunView {
  runId: string;
  kind: RunKind;
  status: string;
  /** Live, with its queue paused from the dashboard (or bull-board, through the same logic). */
  paused: boolean;
  abandoned: boolean;
  source: string;
  mode: string | null;
  reason: string | null;
  startedAt: number;
  durationMs: number;
  live: boolean;
  progress: { readShare: number | null; rate: number; etaMs: number | null };
  rows: { read: number; valid: number; rejected: number };
  objects: { total: number; accepted: number; failed: number; notAttempted: number };
  requests: { sent: number; retried: number; rateLimited: number };
  possibleDuplicates: number;
  deadLetters: number;
  estimatedDataPoints: number;
  replayOf: string | null;
  replayedBy: string | null;
}

/** The last path segment: the dashboard never shows where on a server an input lived. */
export function fileName(source: string): string {
  if (source === '-' || source === '') return source || '-';
  const parts = source.split(/[\\/]/);
  return parts[parts.length - 1] || source;
}

/**
 * A reason without what does not belong on a page: the text of Braze's answer (we keep its status and
 * our advice) and server paths (their file name stays).
 */
export function safeReason(reason: string): string {
  return reason
    .replace(/Braze answered (\d{3})\b.*?(?=: check |$)/, 'Braze answered $1')
    .replace(/HTTP (\d{3})\b[^;]*/, 'HTTP $1')
    .replace(/(?:[A-Za-z]:)?(?:[\\/][^\s\\/:;,()'"]+){2,}/g, (path) => fileName(path));
}

/** Samples per run id, for rates; runs not seen for a while are forgotten. */
export class RateSamples {
  private readonly byRun = new Map<string, Sample[]>();

  take(run: RunRecord, now: number): Sample[] {
    const samples = addSample(this.byRun.get(run.runId) ?? [], run, now);
    this.byRun.set(run.runId, samples);
    if (this.byRun.size > 500) {
      for (const [id, s] of this.byRun) if (now - (s[s.length - 1]?.at ?? 0) > 60_000) this.byRun.delete(id);
    }
    return samples;
  }
}

export function runView(
  run: RunRecord,
  o: { paused: boolean; samples: readonly Sample[]; now: number },
): RunView {
  const dead = run.owner !== undefined && ownerIsDead(run.owner);
  const s = summarize(run, o.now, dead);
  const live = !FINAL_STATUSES.has(s.status);
  const p = progressOf(run, o.samples, live, o.now);
  return {
    runId: s.runId,
    kind: kindOf(run),
    status: s.status,
    paused: live && o.paused,
    abandoned: s.abandoned === true,
    source: fileName(s.source),
    mode: run.mode ?? null,
    reason: s.reason ? safeReason(s.reason) : null,
    startedAt: run.createdAt,
    durationMs: s.durationMs,
    live,
    progress: { readShare: p.readShare ?? null, rate: p.rate, etaMs: p.etaMs ?? null },
    rows: s.rows,
    objects: {
      total: s.objects.total,
      accepted: s.objects.accepted,
      failed: s.objects.failed,
      notAttempted: s.objects.notAttempted,
    },
    requests: s.requests,
    possibleDuplicates: s.possibleDuplicates,
    deadLetters: s.deadLetters,
    estimatedDataPoints: s.estimatedDataPoints,
    replayOf: s.replayOf ?? null,
    replayedBy: s.replayedBy ?? null,
  };
}
