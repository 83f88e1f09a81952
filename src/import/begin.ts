import type { Redis } from 'ioredis';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { createTrackQueue, JOB_GROUP, releaseActive } from '../infra/queues.js';
import { type Destination, describeDestination } from '../runs/destination.js';
import { newRunId, RUN_ID_PATTERN } from '../runs/ids.js';
import { ownerIsDead } from '../runs/owner.js';
import { isCompleted, type RunMode, type RunRecord, type RunStore } from '../runs/store.js';
import type { ImportOptions } from './import.js';

export interface BeginOptions {
  config: Config;
  dest: Destination;
  owner: string;
  leaseUntil: number;
  source: string;
  fingerprint: string | undefined;
  size: number | undefined;
  idColumn?: string | undefined;
  mapping?: unknown;
  o: Pick<ImportOptions, 'resume' | 'newKey' | 'force' | 'runId' | 'enqueueOnly' | 'replayOf' | 'start'>;
}

/** jobGroup: chunks per queued job, the run's own (a resume keeps what the run began with). */
export type Begun = { runId: string; mode: RunMode; jobGroup: number } | { already: RunRecord };

/**
 * A new run, a resumed one, or none because this exact input was imported before. A resumed run
 * re-reads its input and re-enqueues what it has not settled; jobs a halt left failed go back too,
 * and chunks a dead process held are released at once.
 */
export async function beginRun(runs: RunStore, redis: Redis, b: BeginOptions): Promise<Begun> {
  const mode: RunMode = b.o.enqueueOnly ? 'fleet' : 'local';
  if (b.o.resume) return { ...(await resumeRun(runs, redis, b, b.o.resume, mode)), mode };
  if (b.fingerprint && !b.o.force) {
    const earlier = await runs.findByFingerprint(b.fingerprint);
    const run = earlier ? await runs.get(earlier) : undefined;
    if (run && isCompleted(run.status)) return { already: run };
    if (run && run.status !== 'cancelled') {
      throw new UsageError(
        `this input is run ${run.runId} (${run.status}); continue it with --resume ${run.runId}, or start over with --force`,
      );
    }
  }
  const runId = b.o.runId ?? newRunId();
  if (!RUN_ID_PATTERN.test(runId)) {
    throw new UsageError(
      `--run-id: "${runId}" must be 1-64 letters, digits, '_', '.', '-' and contain a letter`,
    );
  }
  const created = await runs.create(runId, {
    source: b.source,
    fingerprint: b.fingerprint,
    endpoint: b.dest.endpoint,
    keyFp: b.dest.keyFp,
    destId: b.dest.id,
    mode,
    owner: b.owner,
    leaseUntil: b.leaseUntil,
    inputBytes: b.size,
    replayOf: b.o.replayOf,
    idColumn: b.idColumn,
    mapping: b.mapping === undefined ? undefined : JSON.stringify(b.mapping),
    jobGroup: JOB_GROUP,
    ...b.o.start,
  });
  if (!created) {
    throw new UsageError(`run ${runId} already exists; pick another --run-id or use --resume ${runId}`);
  }
  if (b.fingerprint) await runs.rememberFingerprint(b.fingerprint, runId);
  if (mode === 'fleet') await runs.joinFleet(b.dest.id, runId);
  return { runId, mode, jobGroup: JOB_GROUP };
}

async function resumeRun(
  runs: RunStore,
  redis: Redis,
  b: BeginOptions,
  runId: string,
  mode: RunMode,
): Promise<{ runId: string; jobGroup: number }> {
  const run = await runs.get(runId);
  if (!run) {
    throw new UsageError(`--resume: no run ${runId} in this Redis (runs are kept for the retention period)`);
  }
  if (run.fingerprint && b.fingerprint && run.fingerprint !== b.fingerprint) {
    throw new UsageError(`--resume: this input (or its options) differs from what run ${runId} imported`);
  }
  checkDestination(run, b.dest, b.o.newKey ?? false);
  // An owner on this machine whose process is gone (killed with -9) need not be waited for.
  const ownerGone = run.owner !== undefined && ownerIsDead(run.owner);
  const was = await runs.resume(runId, b.owner, b.leaseUntil, mode, ownerGone);
  if (isCompleted(was)) throw new UsageError(`--resume: run ${runId} already completed; nothing to resume`);
  if (was === 'cancelled') {
    throw new UsageError(`--resume: run ${runId} was cancelled; import the file again with --force`);
  }
  if (was === 'owned') {
    const seen = run.seenAt ? `, last heard of ${Math.round((Date.now() - run.seenAt) / 1000)} s ago` : '';
    const lapse = Math.max(1, Math.ceil(((run.leaseUntil ?? 0) - Date.now()) / 1000));
    throw new UsageError(
      `--resume: run ${runId} is still ${run.status} in process ${run.owner ?? 'unknown'}${seen}; stop it first (if it died on another machine, its claim lapses in ${lapse} s)`,
    );
  }
  if (b.o.newKey && run.keyFp !== b.dest.keyFp) {
    await runs.set(runId, { keyFp: b.dest.keyFp, destId: b.dest.id });
    if (run.destId) await runs.leaveFleet(run.destId, runId);
  }
  if (mode === 'fleet') await runs.joinFleet(b.dest.id, runId);
  else if (run.destId) await runs.leaveFleet(run.destId, runId);
  // This process owns the run now: what a dead one held is free, and a parked queue moves again.
  const queue = createTrackQueue(redis, b.config.prefix, runId);
  try {
    await releaseActive(redis, b.config.prefix, runId);
    await queue.resume();
    await retryUnsettledFailures(runs, queue, runId);
  } finally {
    await queue.close();
  }
  return { runId, jobGroup: run.jobGroup ?? 1 };
}

/**
 * A run's rows go only to its own workspace: the endpoint must be the one it recorded, and so must
 * the key, unless the user says the key was rotated (`--new-key`).
 */
function checkDestination(run: RunRecord, dest: Destination, newKey: boolean): void {
  if (!run.endpoint || !run.keyFp) return; // a run recorded before destinations were
  const recorded = describeDestination({ endpoint: run.endpoint, keyFp: run.keyFp });
  if (run.endpoint !== dest.endpoint) {
    throw new UsageError(
      `--resume: run ${run.runId} sends to ${recorded}, not to ${dest.endpoint}; a run's rows only go to its own workspace`,
    );
  }
  if (run.keyFp !== dest.keyFp && !newKey) {
    throw new UsageError(
      `--resume: run ${run.runId} was started with another API key (${recorded}; this one is ${dest.keyFp.slice(0, 8)}); if the key was rotated for the same workspace, pass --new-key`,
    );
  }
}

/** Jobs of the run that failed without an outcome (a halt) are queued again; settled ones never are. */
async function retryUnsettledFailures(
  runs: RunStore,
  queue: ReturnType<typeof createTrackQueue>,
  runId: string,
): Promise<void> {
  // Collect first: retrying moves a job out of the failed set, which would shift the pages being read.
  const mine = [];
  for (let start = 0; ; start += 500) {
    const failed = await queue.getFailed(start, start + 499);
    mine.push(...failed);
    if (failed.length < 500) break;
  }
  for (const job of mine) if (!(await runs.isSettled(runId, job.id ?? ''))) await job.retry();
}
