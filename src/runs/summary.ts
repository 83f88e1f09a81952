import type { RunRecord, RunStatus } from './store.js';

/** What a run did, in the shape `--json` prints. The counts always add up (see checkSummary). */
export interface Summary {
  runId: string;
  status: RunStatus;
  source: string;
  reason?: string;
  rows: { read: number; valid: number; rejected: number };
  objects: { total: number; sent: number; accepted: number; failed: number; notAttempted: number };
  requests: { sent: number; retried: number; rateLimited: number };
  deadLetters: number;
  estimatedDataPoints: number;
  /** Chunks that may have reached Braze twice (in flight when a process died, or timed out). */
  possibleDuplicates: number;
  durationMs: number;
  /** Set when the same input was imported before: nothing was sent this time. */
  alreadyImported?: boolean;
  /** Set when the input broke mid-way (status failed): why. */
  inputError?: string;
}

export function summarize(run: RunRecord, now = Date.now()): Summary {
  const sent = run.objectsAccepted + run.objectsFailed;
  return {
    runId: run.runId,
    status: run.status,
    source: run.source,
    ...(run.reason ? { reason: run.reason } : {}),
    rows: { read: run.rowsRead, valid: run.rowsValid, rejected: run.rowsRejected },
    objects: {
      total: run.objects,
      sent,
      accepted: run.objectsAccepted,
      failed: run.objectsFailed,
      notAttempted: Math.max(0, run.objects - sent),
    },
    requests: { sent: run.requestsSent, retried: run.requestsRetried, rateLimited: run.requestsRateLimited },
    deadLetters: run.deadLetters,
    estimatedDataPoints: run.dataPoints,
    possibleDuplicates: run.possibleDuplicates,
    durationMs: (run.finishedAt ?? now) - run.createdAt,
  };
}

/** The identities every summary must satisfy; returns the ones that fail (empty when honest). */
export function checkSummary(s: Summary): string[] {
  const problems: string[] = [];
  if (s.rows.read !== s.rows.valid + s.rows.rejected) problems.push('rows.read != valid + rejected');
  if (s.objects.total !== s.objects.accepted + s.objects.failed + s.objects.notAttempted) {
    problems.push('objects.total != accepted + failed + notAttempted');
  }
  if (s.deadLetters !== s.rows.rejected + s.objects.failed)
    problems.push('deadLetters != rejected rows + failed objects');
  return problems;
}

export function exitCodeFor(status: RunStatus): number {
  if (status === 'completed') return 0;
  if (status === 'completed_with_errors') return 3;
  return 1;
}

const n = (v: number) => v.toLocaleString('en-US');

export function formatSummary(s: Summary): string {
  const rows: Array<[string, string]> = [
    ['Run', `${s.runId}  (${s.status})`],
    ['Source', s.source],
    ['Rows', `${n(s.rows.read)} read, ${n(s.rows.valid)} valid, ${n(s.rows.rejected)} rejected`],
    [
      'Objects',
      `${n(s.objects.total)} queued, ${n(s.objects.accepted)} accepted, ${n(s.objects.failed)} failed, ${n(s.objects.notAttempted)} not attempted`,
    ],
    [
      'Requests',
      `${n(s.requests.sent)} sent, ${n(s.requests.retried)} retried, ${n(s.requests.rateLimited)} rate-limited`,
    ],
    ['Dead letters', n(s.deadLetters)],
    ['Data points', `~${n(s.estimatedDataPoints)} (estimated)`],
    ['Duration', `${(s.durationMs / 1000).toFixed(1)} s`],
  ];
  if (s.reason) rows.splice(2, 0, ['Reason', s.reason]);
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
