import type { Redis } from 'ioredis';
import type { RateLimit } from '../../schemas/config.js';
import { cancelRun } from '../control/run-actions.js';
import { UsageError } from '../errors.js';
import { redisLock } from '../infra/lock.js';
import { openRedis } from '../infra/queues.js';
import { createResources } from '../infra/resources.js';
import { destinationOf } from '../runs/destination.js';
import { ownerId } from '../runs/owner.js';
import { createRunStore, isCompleted, isLive, type SyncCounts } from '../runs/store.js';
import { type Summary, summarize } from '../runs/summary.js';
import { filterRows, unsetMissing } from '../sync/filter.js';
import { type ChangeRecord, openRecord, type RecordMeta, recordBase } from '../sync/record.js';
import { type DryRunReport, dryRun } from './dry-run.js';
import { type ImportInput, type ImportOptions, runImport } from './import.js';

/**
 * `sync`: a run that sends only what changed since the last sync of the same name to the same
 * workspace (src/sync). Before anything is sent: the snapshot's header against the last one (a gzip
 * is read to its end by the reader already, src/read), and in mirror mode a first pass that counts
 * who would be unset; any of them can refuse with one line (exit 2) and then nothing is sent and the
 * record's values are as they were.
 */
export interface SyncOptions {
  /** The record's name: syncs of one name to one workspace share it (default "default"). */
  name: string;
  /** Send every row as it is, and refresh the record from what Braze accepts. */
  full: boolean;
  /** Mirror mode: unset the synced attributes of users the snapshot left out. */
  unsetMissing: boolean;
  /** Mirror mode refuses when more than this share of known users would be unset (0..1). */
  maxUnset: number;
  /** Go on despite a changed header, a shrunken snapshot, or too many unsets. */
  force: boolean;
  /** Opens the input again (a mirror sync reads it twice). */
  reopen: () => Promise<ImportInput>;
  /** The file read, for the record (what the next sync compares with). */
  file: string;
}

export type SyncSummary = Summary & { sync: NonNullable<Summary['sync']> };

/** A snapshot's rows shrink below this share of the last sync's: mirror mode refuses. */
export const MIN_ROWS_SHARE = 0.8;
/** Lines of a mirror sync's first pass looked up per Redis call. */
const MARK_BATCH = 1000;

/** How long a sync holds its name against another sync of it (renewed while it runs). */
const LOCK_MS = 30_000;

export async function runSync(input: ImportInput, o: ImportOptions, s: SyncOptions): Promise<SyncSummary> {
  const res = createResources();
  try {
    const { redis, base, meta, mark, record, filtered, synced } = await prepare(res, input, o, s);
    const runs = createRunStore(redis, o.config.prefix, o.config.retentionMs);
    let runId: string | undefined;
    const summary = await runImport(synced, {
      ...o,
      // A snapshot seen before is no reason to skip a sync: the record says what is left to send.
      force: true,
      start: { kind: 'sync', syncName: s.name, syncBase: base, syncMark: mark, syncBuckets: meta.buckets },
      onBegin: async (id) => {
        runId = id;
        await o.onBegin?.(id);
      },
    });
    if (!runId) return { ...summary, sync: { ...filtered.counts, name: s.name } };
    // The filter's counts were final when the input was read (the unsets' with the tail).
    await runs.incr(runId, filtered.counts);
    let run = await runs.get(runId);
    if (run && !isLive(run.status) && !isCompleted(run.status) && run.status !== 'cancelled') {
      // A sync is not resumed: the next one sends whatever this one did not (the record says what
      // Braze has), so what it parked is dropped rather than left for a --resume that sync lacks.
      await cancelRun({ redis, prefix: o.config.prefix, runs }, runId, 'the end of an unfinished sync');
      const why = (run.reason ?? run.status).replace(/; continue with --resume \S+$/, '');
      await runs.set(runId, { status: run.status, reason: `${why}; run the sync again to send the rest` });
      run = await runs.get(runId);
    }
    if (run?.producerDone && !summary.inputError) {
      await record.finish({ rows: run.rowsRead, header: input.header?.(), file: s.file, runId });
    }
    const final = run ? { ...summarize(run), ...pick(summary) } : summary;
    return { ...final, sync: { ...(run?.sync ?? filtered.counts), name: s.name } };
  } finally {
    const errors = await res.closeAll();
    for (const e of errors) o.log.warn(e.message);
  }
}

/** What runImport adds to a run's own summary. */
function pick(s: Summary): Partial<Summary> {
  return {
    ...(s.inputError ? { inputError: s.inputError } : {}),
    ...(s.alreadyImported ? { alreadyImported: s.alreadyImported } : {}),
    ...(s.parked ? { parked: s.parked } : {}),
  };
}

export interface SyncDryRun extends DryRunReport {
  sync: SyncCounts & { name: string };
}

/**
 * What a sync would send, against the record as it is: users new, changed and unchanged, attributes
 * left out, data points spent and saved, and (mirror mode) users it would unset. Nothing is sent and
 * no value in the record changes; the users looked up get this pass's mark (see LOOKUP).
 */
export async function drySync(
  input: ImportInput,
  o: Pick<ImportOptions, 'redisUrl' | 'log' | 'config' | 'braze'>,
  s: SyncOptions,
  limits: readonly RateLimit[],
  slackMs: number,
): Promise<SyncDryRun> {
  const res = createResources();
  try {
    const { filtered, synced } = await prepare(res, input, o, s);
    const report = await dryRun(synced, limits, 20, slackMs);
    const sync = { ...filtered.counts, name: s.name };
    const lines = [
      `Sync "${s.name}": ${sync.usersNew} new users, ${sync.usersChanged} changed, ${sync.usersUnchanged} unchanged; ${sync.attributesSkipped} unchanged attributes left out (~${sync.dataPointsSaved} data points saved)`,
      ...(s.unsetMissing
        ? [`Would unset  ${sync.usersUnset} users missing from the snapshot (--unset-missing)`]
        : []),
    ];
    const [head, ...rest] = report.text.split('\n');
    return { ...report, sync, text: [head, ...lines, ...rest].join('\n') };
  } finally {
    const errors = await res.closeAll();
    for (const e of errors) o.log.warn(e.message);
  }
}

/**
 * What a sync and its dry run do before reading: the record and its lock (a dry run's marks would
 * confuse a sync running meanwhile, see LOOKUP), the header check, mirror mode's first pass, this
 * pass's mark, and the input with the filter (and the unsets after it).
 */
async function prepare(
  res: ReturnType<typeof createResources>,
  input: ImportInput,
  o: Pick<ImportOptions, 'redisUrl' | 'log' | 'config' | 'braze'>,
  s: SyncOptions,
) {
  const redis = await openRedis(res, {
    url: o.redisUrl,
    role: 'producer',
    name: 'braze-import:sync',
    log: o.log,
  });
  const dest = destinationOf(o.braze.endpoint, o.braze.apiKey);
  const base = recordBase(o.config.prefix, dest.id, s.name);
  const record = openRecord(redis, base);
  await holdLock(redis, res, base, s.name);
  const meta = await record.meta();
  checkHeader(meta, input, s);
  if (s.unsetMissing) await firstPass(record, meta, s);
  const mark = await record.newMark();
  const filtered = filterRows(input.rows, input.validate, { record, meta, mark, full: s.full, write: true });
  const synced: ImportInput = {
    ...input,
    rows: filtered.rows,
    validate: filtered.validate,
    ...(s.unsetMissing
      ? { tail: () => unsetMissing(record, mark, filtered.lastLine() + 1, filtered.counts) }
      : {}),
  };
  return { redis, base, record, meta, mark, filtered, synced };
}

/** One sync of a name at a time: a second one would send from the same record twice. */
async function holdLock(
  redis: Redis,
  res: ReturnType<typeof createResources>,
  base: string,
  name: string,
): Promise<void> {
  const key = `${base}:lock`;
  const token = ownerId();
  if (!(await redisLock.take(redis, key, token, LOCK_MS))) {
    throw new UsageError(`another sync of ${name} to this workspace is running; wait for it to end`);
  }
  const renew = setInterval(() => {
    redisLock.renew(redis, key, token, LOCK_MS).catch(() => undefined);
  }, LOCK_MS / 3);
  res.defer('sync lock', async () => {
    clearInterval(renew);
    await redisLock.release(redis, key, token);
  });
}

/** A CSV snapshot whose columns changed since the last sync: one line, unless --force. */
function checkHeader(meta: RecordMeta, input: ImportInput, s: SyncOptions): void {
  const header = input.header?.();
  if (!header || !meta.header || s.force) return;
  const before = new Set(meta.header);
  const now = new Set(header);
  const added = header.filter((h) => !before.has(h));
  const removed = meta.header.filter((h) => !now.has(h));
  if (added.length === 0 && removed.length === 0) return;
  const what = [
    added.length > 0 ? `added ${added.join(', ')}` : '',
    removed.length > 0 ? `removed ${removed.join(', ')}` : '',
  ]
    .filter(Boolean)
    .join('; ');
  throw new UsageError(
    `${input.source}: the columns changed since the last sync of ${s.name} (${what}); nothing was sent. Check the export, or pass --force to sync with the new columns`,
  );
}

/**
 * Mirror mode's first pass: the snapshot is read once to mark the users it holds and count its rows,
 * so that a truncated export is refused before anything is sent. Returns how many users it would unset.
 */
async function firstPass(record: ChangeRecord, meta: RecordMeta, s: SyncOptions): Promise<number> {
  const input = await s.reopen();
  if (input.source === 'stdin') {
    throw new UsageError('--unset-missing reads the snapshot twice: give a file, not stdin');
  }
  const mark = await record.newMark();
  let rows = 0;
  let seen = 0;
  let ids: string[] = [];
  for await (const batch of input.rows) {
    for (const row of batch) {
      rows++;
      const r = input.validate(row);
      if ('code' in r) continue;
      ids.push(r.externalId);
      if (ids.length >= MARK_BATCH) {
        seen += await record.markSeen(ids, mark, meta.buckets);
        ids = [];
      }
    }
  }
  seen += await record.markSeen(ids, mark, meta.buckets);
  const unset = Math.max(0, meta.users - seen);
  if (s.force) return unset;
  if (meta.lastRows !== undefined && rows < meta.lastRows * MIN_ROWS_SHARE) {
    throw new UsageError(
      `${input.source} has ${rows} rows, the last sync of ${s.name} had ${meta.lastRows}: it looks truncated, so --unset-missing refuses (nothing was sent); pass --force if the users really left`,
    );
  }
  if (meta.users > 0 && unset > meta.users * s.maxUnset) {
    const pct = ((unset / meta.users) * 100).toFixed(1);
    throw new UsageError(
      `${input.source} would unset ${unset} of ${meta.users} known users (${pct}%, over --max-unset ${(s.maxUnset * 100).toFixed(0)}%): it looks truncated, so nothing was sent; pass --force to unset them`,
    );
  }
  return unset;
}
