import { formatDuration, formatEta, formatStart } from '../control/progress.js';
import type { RunView } from './run-view.js';

const n = (v: number) => v.toLocaleString('en-US');

/**
 * A run's values as the pages print them. The page and the live script (through `/api/runs`) use the
 * same strings, so a refreshed cell reads exactly as the server would have rendered it.
 */
export function cellsOf(v: RunView): Record<string, string> {
  const status = v.paused ? 'paused' : v.abandoned ? 'interrupted (abandoned)' : v.status;
  const share = v.progress.readShare;
  return {
    status,
    statusClass: v.paused ? 'paused' : v.status,
    kind: v.kind,
    started: formatStart(v.startedAt),
    duration: formatDuration(v.durationMs),
    read: share === null ? `${n(v.rows.read)} rows` : `${Math.floor(share * 100)}%`,
    rowsRead: n(v.rows.read),
    rowsValid: n(v.rows.valid),
    rejected: n(v.rows.rejected),
    objects: n(v.objects.total),
    accepted: n(v.objects.accepted),
    failed: n(v.objects.failed),
    notAttempted: n(v.objects.notAttempted),
    rate: `${n(Math.round(v.progress.rate))}/s`,
    eta: v.live ? formatEta(v.progress.etaMs ?? undefined) : '—',
    requests: n(v.requests.sent),
    retried: n(v.requests.retried),
    rateLimited: n(v.requests.rateLimited),
    possibleDuplicates: n(v.possibleDuplicates),
    deadLetters: n(v.deadLetters),
    dataPoints: `~${n(v.estimatedDataPoints)}`,
  };
}
