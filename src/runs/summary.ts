import { describeIdCollisions, type IdCollisionReport } from '../validate/id-collisions.js';
import { describeDestination } from './destination.js';
import { isLive, type RunRecord, type RunStatus, type SyncCounts } from './store.js';

/** What a run did, in the shape `--json` prints. The counts always add up (see checkSummary). */
export interface Summary {
  runId: string;
  status: RunStatus;
  source: string;
  reason?: string;
  /** Where the run sends: endpoint and a fingerprint of the key (never the key). */
  destination?: string;
  rows: { read: number; valid: number; rejected: number };
  objects: { total: number; sent: number; accepted: number; failed: number; notAttempted: number };
  requests: { sent: number; retried: number; rateLimited: number };
  deadLetters: number;
  estimatedDataPoints: number;
  /**
   * Chunks that may have reached Braze twice: a request went again after an earlier one got no answer
   * (a crash, a forced stop, a timeout, a reset). Their events and purchases may be recorded twice.
   */
  possibleDuplicates: number;
  durationMs: number;
  /** The process running it stopped without recording why (its lease lapsed): shown as interrupted. */
  abandoned?: true;
  /** Chunks of a stopped run still queued, sent by nobody until `--resume` (or dropped by `cancel`). */
  parked?: { chunks: number };
  replayOf?: string;
  replayedBy?: string;
  /** Rows whose external_id differs from an earlier one only by Unicode form, spaces, case... */
  idCollisions?: IdCollisionReport;
  /** A backfill (resumed with `backfill FILE --resume`, which keeps its CPU priority). */
  kind?: 'backfill';
  /** A sync (src/sync): its name and what it left out, sent new, unset. */
  sync?: SyncCounts & { name?: string | undefined };
  /** Set when the same input was imported before: nothing was sent this time. */
  alreadyImported?: boolean;
  /** Set when the input broke mid-way (status failed): why. */
  inputError?: string;
}

/**
 * A live run whose owner stopped renewing its lease: killed (-9), or a machine that went away. A fleet
 * run is owned only while its producer reads; its workers may come and go after that.
 */
export function isAbandoned(run: RunRecord, now = Date.now(), ownerDead = false): boolean {
  if (!isLive(run.status) || run.leaseUntil === undefined) return false;
  if (run.mode === 'fleet' && run.producerDone) return false;
  return ownerDead || run.leaseUntil < now;
}

/**
 * `ownerDead`: the caller knows the owning process is gone (see runs/owner.ts), so the run is shown
 * as abandoned before its lease lapses.
 */
export function summarize(record: RunRecord, now = Date.now(), ownerDead = false): Summary {
  // A resumed reading that stopped before an earlier one got: the earlier reading's counts, which
  // cover everything sent so far (and its rejected rows' letters).
  const run =
    record.best && !record.producerDone && record.best.rowsRead > record.rowsRead
      ? { ...record, ...record.best }
      : record;
  const sent = run.objectsAccepted + run.objectsFailed;
  const abandoned = isAbandoned(run, now, ownerDead);
  const reason = abandoned
    ? `abandoned: the process running it stopped without recording why (last heard of ${new Date(run.seenAt ?? run.createdAt).toISOString()}); continue with --resume ${run.runId}`
    : run.reason;
  const end = run.finishedAt ?? (abandoned ? (run.seenAt ?? run.createdAt) : now);
  return {
    runId: run.runId,
    status: abandoned ? 'interrupted' : run.status,
    source: run.source,
    ...(reason ? { reason } : {}),
    ...(run.endpoint && run.keyFp
      ? { destination: describeDestination({ endpoint: run.endpoint, keyFp: run.keyFp }) }
      : {}),
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
    durationMs: Math.max(0, end - run.createdAt),
    ...(abandoned ? { abandoned: true as const } : {}),
    ...(run.replayOf ? { replayOf: run.replayOf } : {}),
    ...(run.replayedBy ? { replayedBy: run.replayedBy } : {}),
    ...collisionsOf(run),
    ...(run.kind === 'backfill' ? { kind: 'backfill' as const } : {}),
    ...(run.sync ? { sync: { ...run.sync, name: run.syncName } } : {}),
  };
}

function collisionsOf(run: RunRecord): { idCollisions?: IdCollisionReport } {
  if (!run.idCollisions) return {};
  try {
    const r = JSON.parse(run.idCollisions) as IdCollisionReport;
    return r.collidingRows > 0 || r.untracked > 0 ? { idCollisions: r } : {};
  } catch {
    return {};
  }
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
  ];
  if (s.reason) rows.push(['Reason', s.reason]);
  if (s.destination) rows.push(['Destination', s.destination]);
  if (s.replayOf) rows.push(['Replay of', s.replayOf]);
  if (s.replayedBy) rows.push(['Replayed by', s.replayedBy]);
  rows.push(['Rows', `${n(s.rows.read)} read, ${n(s.rows.valid)} valid, ${n(s.rows.rejected)} rejected`]);
  for (const line of s.idCollisions ? describeIdCollisions(s.idCollisions) : []) rows.push(['', line]);
  if (s.sync) {
    const y = s.sync;
    rows.push([
      'Sync',
      `${y.name ?? ''}: ${n(y.usersNew)} new users, ${n(y.usersChanged)} changed, ${n(y.usersUnchanged)} unchanged; ${n(y.attributesSkipped)} unchanged attributes not sent (~${n(y.dataPointsSaved)} data points saved)${y.usersUnset > 0 ? `; ${n(y.usersUnset)} missing users unset` : ''}`,
    ]);
  }
  rows.push(
    [
      'Objects',
      `${n(s.objects.total)} queued, ${n(s.objects.accepted)} accepted, ${n(s.objects.failed)} failed, ${n(s.objects.notAttempted)} not attempted`,
    ],
    [
      'Requests',
      `${n(s.requests.sent)} sent, ${n(s.requests.retried)} retried, ${n(s.requests.rateLimited)} rate-limited`,
    ],
  );
  if (s.possibleDuplicates > 0) {
    rows.push([
      'Possible dups',
      `${n(s.possibleDuplicates)} chunk(s) may have reached Braze twice (sent again after an attempt got no answer); their events and purchases may be recorded twice`,
    ]);
  }
  if (s.parked && s.parked.chunks > 0) {
    rows.push([
      'Parked',
      `${n(s.parked.chunks)} chunk(s) queued and sent by nobody: continue with --resume ${s.runId}, or drop them with: braze-import cancel ${s.runId}`,
    ]);
  }
  rows.push(
    ['Dead letters', n(s.deadLetters)],
    ['Data points', `~${n(s.estimatedDataPoints)} (estimated)`],
    ['Duration', `${(s.durationMs / 1000).toFixed(1)} s`],
  );
  const width = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(width)}  ${v}`).join('\n');
}
