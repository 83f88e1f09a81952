import type { Redis } from 'ioredis';
import { CLAIM } from './scripts/claim.js';
import { DEAD_USERS, LATER } from './scripts/later.js';
import { LEASE } from './scripts/lease.js';
import { PRODUCER_BATCH } from './scripts/producer-batch.js';
import { PRODUCER_DONE } from './scripts/producer-done.js';
import { READING_COUNTS, RESUME } from './scripts/resume.js';
import { SETTLE } from './scripts/settle.js';
import { START } from './scripts/start.js';
import { STOP } from './scripts/stop.js';

/**
 * A run lives in Redis: a hash of counters, status, destination and owner, a set of settled job ids
 * (the ledger that keeps a re-processed job from being counted twice), the ids it enqueued and has in
 * flight, and two dead-letter lists (rows we rejected; objects Braze refused or we gave up on).
 */
export type RunStatus =
  | 'reading'
  | 'sending'
  | 'completed'
  | 'completed_with_errors'
  | 'halted'
  | 'failed'
  | 'interrupted'
  | 'cancelled';

export const FINAL_STATUSES: ReadonlySet<string> = new Set([
  'completed',
  'completed_with_errors',
  'halted',
  'failed',
  'interrupted',
  'cancelled',
]);

/** The run finished and everything it read was dealt with (with or without dead letters). */
export function isCompleted(status: string): boolean {
  return status === 'completed' || status === 'completed_with_errors';
}

/** Reading or sending: a run that some process is (or should be) working on. */
export function isLive(status: string): boolean {
  return status === 'reading' || status === 'sending';
}

export const COUNTERS = [
  'rowsRead',
  'rowsValid',
  'rowsRejected',
  'chunks',
  'objects',
  'objectsAccepted',
  'objectsFailed',
  'jobsOpen',
  'requestsSent',
  'requestsRetried',
  'requestsRateLimited',
  'deadLetters',
  'dataPoints',
  'possibleDuplicates',
  'resumes',
  'bytesRead',
] as const;
export type Counter = (typeof COUNTERS)[number];
export type Counts = Record<Counter, number>;

/**
 * A sync's counts (src/sync): users new to its change record, changed, unchanged (nothing sent), the
 * attributes it left out as Braze already has them and their data points, users it unset.
 */
export const SYNC_COUNTERS = [
  'usersNew',
  'usersChanged',
  'usersUnchanged',
  'attributesSkipped',
  'dataPointsSaved',
  'usersUnset',
] as const;
export type SyncCounts = Record<(typeof SYNC_COUNTERS)[number], number>;

/**
 * Who sends a run's chunks: `local`, the `run` process that reads it (nobody else); `fleet`, the
 * `braze-import worker` processes of its destination.
 */
export type RunMode = 'local' | 'fleet';

/** What a run records when it begins (and a resume may record again). */
export interface RunStart {
  source: string;
  fingerprint?: string;
  endpoint: string;
  keyFp: string;
  destId: string;
  mode: RunMode;
  owner: string;
  leaseUntil: number;
  /** Size of the input in bytes, when known (not for stdin). */
  inputBytes?: number;
  /** The run whose dead letters this run replays. */
  replayOf?: string;
  /** How the input was read (the id column, the mapping as JSON): a replay reads its rows alike. */
  idColumn?: string;
  mapping?: string;
  /** What started it (see src/control/run-kind.ts); absent on plain runs. */
  kind?: 'sync' | 'backfill';
  /** A sync's change record (its key base), the mark its users get, and the record's bucket count. */
  syncName?: string;
  syncBase?: string;
  syncMark?: number;
  syncBuckets?: number;
  /** A backfill's share of the burst limit while a sync is sending (0..1]. */
  share?: number;
  /** The Braze endpoint it sends to: /users/track (default) or /users/track/bulk. */
  api?: 'track' | 'bulk';
  /** Chunks per queued job (TrackGroupData); absent: one (runs begun before groups existed). */
  jobGroup?: number;
}

/** A backfill takes at most half the burst limit while a sync is sending. */
export const DEFAULT_BACKFILL_SHARE = 0.5;

export interface RunRecord extends Counts {
  runId: string;
  status: RunStatus;
  source: string;
  fingerprint?: string;
  createdAt: number;
  finishedAt?: number;
  producerDone: boolean;
  reason?: string;
  endpoint?: string;
  keyFp?: string;
  destId?: string;
  mode?: RunMode;
  owner?: string;
  /** Until when the owner has said it is alive (ms since the epoch); only while live. */
  leaseUntil?: number;
  /** When the owner last said so. */
  seenAt?: number;
  inputBytes?: number;
  replayOf?: string;
  /** The latest run that replayed this run's dead letters. */
  replayedBy?: string;
  idColumn?: string;
  mapping?: string;
  /** external_ids that differ from another only by Unicode form, spaces, case (JSON; see validate/). */
  idCollisions?: string;
  kind?: string;
  sync?: SyncCounts;
  share?: number;
  api?: 'track' | 'bulk';
  /** Chunks per queued job; absent (one) for runs begun before groups existed. A resume keeps it. */
  jobGroup?: number;
  syncName?: string;
  syncBase?: string;
  syncMark?: number;
  syncBuckets?: number;
  /** The producer's counts of the reading that got furthest before the current one (see RESUME). */
  best?: Pick<Counts, (typeof READING_COUNTS)[number]>;
}

/**
 * A check's reply (START, or the sender's combined take) and the request body kept for `jobId`, read
 * by a plain HGET written right after the script's call, in the same write (one round trip). Read
 * outside the script because a body passed through Lua cost Redis about as much again as the check
 * and the take (scripts/start.ts). When the reply says the chunk is not to be sent, the caller
 * ignores the body; undefined: none is kept (a settled part, or a job of an older version).
 */
export function withBody<T>(
  redis: Redis,
  bodiesKey: string,
  jobId: string,
  check: Promise<T>,
): Promise<[T, Buffer | undefined]> {
  return Promise.all([check, keptBody(redis, bodiesKey, jobId)]);
}

/** The request body kept beside a job (`runKeys(...).bodies`); undefined when none is kept. */
export async function keptBody(redis: Redis, bodiesKey: string, jobId: string): Promise<Buffer | undefined> {
  return (await redis.hgetBuffer(bodiesKey, jobId)) ?? undefined;
}

export function runKeys(prefix: string, runId: string) {
  return {
    run: `${prefix}:run:${runId}`,
    /** Ledger: job ids whose outcome is recorded. */
    done: `${prefix}:run:${runId}:done`,
    /** Job ids ever enqueued, so jobsOpen counts each once. */
    enqueued: `${prefix}:run:${runId}:enqueued`,
    /** Job ids with a request that has no answer yet (in flight, or lost to a crash, timeout, reset). */
    inflight: `${prefix}:run:${runId}:inflight`,
    /** Job ids sent again after an unanswered attempt: they may reach Braze twice. */
    maybe: `${prefix}:run:${runId}:maybe`,
    /** Per lane, the highest seq up to which every chunk is finished. */
    lanes: `${prefix}:run:${runId}:lanes`,
    /** Finished chunks beyond their lane's mark ("lane:seq"). */
    lanefin: `${prefix}:run:${runId}:lanefin`,
    /** Jobs waiting for their lane to move on (score: lane * 2^32 + the seq it must reach). */
    waiters: `${prefix}:run:${runId}:waiters`,
    /** Request bodies of the parts not yet settled, by job id: kept beside the jobs, sent as bytes. */
    bodies: `${prefix}:run:${runId}:bodies`,
    /** Users with a dead-lettered attributes object, and what later chunks wrote for them (later.ts). */
    deadusers: `${prefix}:run:${runId}:deadusers`,
    later: `${prefix}:run:${runId}:later`,
    /** Dead letters from Braze or retries (kept across resumes). */
    dlq: `${prefix}:dlq:${runId}`,
    /** Rows our validation rejected (recounted on resume). */
    rejected: `${prefix}:dlq:${runId}:rejected`,
    /** Producer batches recorded (so a re-sent batch is not counted twice). */
    batches: `${prefix}:run:${runId}:batches`,
    /** Source lines whose rejection letter is written (once, whatever the readings). */
    rejectedLines: `${prefix}:run:${runId}:rejected-lines`,
    index: `${prefix}:runs`,
  };
}

export function fingerprintKey(prefix: string, fingerprint: string): string {
  return `${prefix}:fp:${fingerprint}`;
}

/** The fleet runs of one destination: what `braze-import worker` processes look for. */
export function fleetKey(prefix: string, destId: string): string {
  return `${prefix}:dest:${destId}:runs`;
}

type Script = (...args: Array<string | number>) => Promise<unknown>;
const SCRIPTS = {
  brazeSettle: [9, SETTLE],
  brazeProducerDone: [1, PRODUCER_DONE],
  brazeClaim: [3, CLAIM],
  brazeResume: [2, RESUME],
  brazeProducerBatch: [4, PRODUCER_BATCH],
  brazeStart: [6, START],
  brazeDeadUsers: [1, DEAD_USERS],
  brazeLater: [2, LATER],
  brazeStop: [1, STOP],
  brazeLease: [1, LEASE],
} as const;
type Scripted = Record<keyof typeof SCRIPTS, Script>;

export type StartMark = 'first' | 'again' | 'settled' | 'blocked';

/**
 * What the check before a request found: the mark, whether the run has dead-lettered users, and the
 * part's body as bytes (undefined when none is kept: a settled part, or a job of an older version).
 */
export interface Started {
  mark: StartMark;
  deadUsers: boolean;
  body?: Buffer;
}

/** An attribute a chunk wrote for a user: 'inc' for an increment, 'set' for anything else; its line. */
export type LaterWrite = [externalId: string, key: string, kind: 'inc' | 'set', line: number];

/** The newest source lines that set and that incremented an attribute of a user (0: none). */
export interface LaterLines {
  set: number;
  inc: number;
}

/** Where a chunk stands in its lane (see src/chunk): what it waits for, and whether it ends the chunk. */
export interface LanePlace {
  lane: number;
  seq: number;
  needs: number;
}

/** What a settle did: whether it counted (first time), and the jobs its lane's progress set free. */
export interface Settled {
  counted: boolean;
  ready: string[];
}

export interface RunStore {
  /** A new run with this id; false when the id is taken. */
  create(runId: string, start: RunStart): Promise<boolean>;
  get(runId: string): Promise<RunRecord | undefined>;
  list(limit?: number): Promise<string[]>;
  /** The records of `list(limit)`, newest first (a run that expired meanwhile is left out). */
  recent(limit?: number): Promise<RunRecord[]>;
  incr(runId: string, deltas: Partial<Counts & SyncCounts>): Promise<void>;
  /** Sets plain fields of the run hash (links between runs, a destination taken over). */
  set(runId: string, fields: Record<string, string | number>): Promise<void>;
  /**
   * Once per job id: counters, dead letters and, when it was the last open job, the final status.
   * With `place` and `finished` (the chunk's last part), the chunk's lane moves on.
   */
  settle(
    runId: string,
    jobId: string,
    deltas: Partial<Counts>,
    deadLetters: string[],
    place?: LanePlace & { finished: boolean },
  ): Promise<Settled>;
  /** Which of these jobs still need a place in the queue (not settled); counts new ones as open. */
  claim(runId: string, jobIds: string[]): Promise<boolean[]>;
  isSettled(runId: string, jobId: string): Promise<boolean>;
  /** How many of these chunk ids have no recorded outcome. */
  unsettledAmong(runId: string, jobIds: string[]): Promise<number>;
  /**
   * Before a request: marks it as in flight. 'again' when an earlier attempt may have been delivered
   * without an answer (this one may duplicate it); 'settled' when the chunk's outcome is already
   * recorded, so it must not be sent again; 'blocked' when its lane has not finished what it needs
   * (nothing marked; the job is recorded as waiting and a later settle names it).
   */
  markInflight(runId: string, jobId: string, place?: LanePlace): Promise<Started>;
  /** Keeps parts' request bodies beside their jobs (before the jobs are added). */
  storeBodies(runId: string, bodies: Array<{ jobId: string; body: string | Buffer }>): Promise<void>;
  /** A part's body, when one is kept (for a job that failed in a way the processor did not decide). */
  body(runId: string, jobId: string): Promise<Buffer | undefined>;
  /** Drops every kept body of a run (cancelled, or done with its queue). */
  dropBodies(runId: string): Promise<void>;
  /** Users whose attributes object was dead-lettered: later writes for them are recorded. */
  noteDeadUsers(runId: string, externalIds: string[]): Promise<void>;
  /** Which of these users have a dead-lettered attributes object. */
  deadAmong(runId: string, externalIds: string[]): Promise<boolean[]>;
  /** Attributes a chunk Braze accepted wrote; kept only for users with dead letters. */
  noteLater(runId: string, writes: LaterWrite[]): Promise<void>;
  /** For a user's keys: the newest lines that set and incremented it in accepted chunks. */
  laterWrites(runId: string, externalId: string, keys: string[]): Promise<LaterLines[]>;
  /** Whether the lane has finished every chunk up to `needs`. */
  laneReady(runId: string, place: LanePlace): Promise<boolean>;
  /** Braze answered (any status), or the request never left: not in flight any more. */
  clearInflight(runId: string, jobId: string): Promise<void>;
  markProducerDone(runId: string): Promise<string>;
  /**
   * Takes a stopped run over to read its input again; the status it had, or 'owned' (still live
   * elsewhere). `ownerGone`: the caller knows the owner died, so its lease need not lapse first.
   */
  resume(
    runId: string,
    owner: string,
    leaseUntil: number,
    mode: RunMode,
    ownerGone?: boolean,
  ): Promise<string>;
  /**
   * The producer's counts and rejected rows for batch `seq`, applied once however often sent; each
   * rejected line's letter is written (and counted in deadLetters) once per run.
   */
  producerBatch(
    runId: string,
    seq: number,
    deltas: Partial<Counts>,
    rejections: Array<{ line: number; text: string }>,
  ): Promise<void>;
  deadLetterPage(runId: string, list: 'rejected' | 'sent', start: number, stop: number): Promise<string[]>;
  countDeadLetters(runId: string): Promise<number>;
  purgeDeadLetters(runId: string): Promise<void>;
  /** Ends a live run with this status (see scripts/stop.ts); returns the status it found. */
  stop(runId: string, status: RunStatus, reason?: string): Promise<string | undefined>;
  /** The owner's heartbeat; returns the run's status (a cancel from elsewhere shows here). */
  renewLease(runId: string, owner: string, leaseUntil: number): Promise<string | undefined>;
  /** The run that imported this input before, if any (within the retention period). */
  findByFingerprint(fingerprint: string): Promise<string | undefined>;
  rememberFingerprint(fingerprint: string, runId: string): Promise<void>;
  joinFleet(destId: string, runId: string): Promise<void>;
  /** Takes a run off its destination's fleet list; whether this call did (so one worker acts on it). */
  leaveFleet(destId: string, runId: string): Promise<boolean>;
  fleetRuns(destId: string): Promise<string[]>;
}

export function createRunStore(redis: Redis, prefix: string, retentionMs: number): RunStore {
  const r = redis as Redis & Partial<Scripted>;
  if (!r.brazeSettle) {
    for (const [name, [numberOfKeys, lua]] of Object.entries(SCRIPTS))
      r.defineCommand(name, { numberOfKeys, lua });
  }
  const lua = r as Redis & Scripted;
  const keys = (runId: string) => runKeys(prefix, runId);
  const ttl = Math.ceil(retentionMs / 1000);
  // TTL refreshes are best effort: a MULTI cut off by a reconnect must not fail a chunk or a run.
  const expireAll = async (k: ReturnType<typeof keys>) => {
    const m = redis.multi();
    for (const key of [
      k.run,
      k.done,
      k.enqueued,
      k.inflight,
      k.maybe,
      k.lanes,
      k.lanefin,
      k.waiters,
      k.deadusers,
      k.later,
      k.bodies,
      k.dlq,
      k.rejected,
      k.rejectedLines,
      k.batches,
    ])
      m.expire(key, ttl);
    await m.exec().catch(() => undefined);
  };

  const store: RunStore = {
    async create(runId, start) {
      const k = keys(runId);
      const created = await redis.hsetnx(k.run, 'runId', runId);
      if (created === 0) return false;
      const now = Date.now();
      const fields: Record<string, string | number> = {
        status: 'reading',
        createdAt: now,
        seenAt: now,
        producerDone: '0',
      };
      for (const [name, value] of Object.entries(start)) if (value !== undefined) fields[name] = value;
      await redis
        .multi()
        .hset(k.run, fields)
        .zadd(k.index, now, runId)
        // Index entries of runs past the retention period point at nothing: drop them.
        .zremrangebyscore(k.index, '-inf', now - retentionMs)
        .expire(k.run, ttl)
        .expire(k.index, ttl)
        .exec();
      return true;
    },
    async get(runId) {
      const h = await redis.hgetall(keys(runId).run);
      return h['runId'] ? toRecord(h) : undefined;
    },
    async list(limit = 20) {
      // Only runs within the retention period: older entries may point at expired records.
      return redis.zrevrangebyscore(keys('').index, '+inf', Date.now() - retentionMs, 'LIMIT', 0, limit);
    },
    async recent(limit = 20) {
      const ids = await store.list(limit);
      const records = await Promise.all(ids.map((id) => store.get(id)));
      return records.filter((r) => r !== undefined);
    },
    async incr(runId, deltas) {
      const k = keys(runId).run;
      const m = redis.multi();
      for (const [name, delta] of Object.entries(deltas)) if (delta) m.hincrby(k, name, delta);
      await m.exec();
    },
    async set(runId, fields) {
      await redis.hset(keys(runId).run, fields);
    },
    async settle(runId, jobId, deltas, deadLetters, place) {
      const k = keys(runId);
      const lane = place ? [place.lane, place.seq, place.finished ? 1 : 0] : [0, -1, 0];
      const args = [jobId, Date.now(), ttl, ...lane, ...counterArgs(deltas), ...deadLetters];
      // The script gives the keys it creates the retention TTL: no extra commands per chunk.
      const [counted, ...ready] = (await lua.brazeSettle(
        k.done,
        k.run,
        k.dlq,
        k.inflight,
        k.maybe,
        k.lanes,
        k.lanefin,
        k.waiters,
        k.bodies,
        ...args,
      )) as [number, ...string[]];
      return { counted: counted === 1, ready };
    },
    async claim(runId, jobIds) {
      if (jobIds.length === 0) return [];
      const k = keys(runId);
      const [flags] = (await Promise.all([
        lua.brazeClaim(k.done, k.enqueued, k.run, ...jobIds),
        redis.expire(k.enqueued, ttl),
      ])) as [number[], number];
      return flags.map((f) => f === 1);
    },
    async unsettledAmong(runId, jobIds) {
      if (jobIds.length === 0) return 0;
      const flags = await redis.smismember(keys(runId).done, ...jobIds);
      return flags.filter((f) => f === 0).length;
    },
    async isSettled(runId, jobId) {
      return (await redis.sismember(keys(runId).done, jobId)) === 1;
    },
    async markInflight(runId, jobId, place) {
      const k = keys(runId);
      const lane = place ? [place.lane, place.needs] : [0, -1];
      const start = lua.brazeStart(
        k.done,
        k.inflight,
        k.maybe,
        k.lanes,
        k.waiters,
        k.deadusers,
        jobId,
        ttl,
        ...lane,
      ) as Promise<[number, number]>;
      const [[mark, dead], body] = await withBody(redis, k.bodies, jobId, start);
      const found = { deadUsers: dead === 1, ...(body ? { body } : {}) };
      if (mark === -2) return { mark: 'blocked', ...found };
      return { mark: mark < 0 ? 'settled' : mark > 0 ? 'again' : 'first', ...found };
    },
    async storeBodies(runId, bodies) {
      if (bodies.length === 0) return;
      const key = keys(runId).bodies;
      await redis
        .multi()
        .hset(key, ...bodies.flatMap((b) => [b.jobId, b.body]))
        .expire(key, ttl)
        .exec();
    },
    body: (runId, jobId) => keptBody(redis, keys(runId).bodies, jobId),
    async dropBodies(runId) {
      await redis.del(keys(runId).bodies);
    },
    async noteDeadUsers(runId, externalIds) {
      if (externalIds.length > 0) await lua.brazeDeadUsers(keys(runId).deadusers, ttl, ...externalIds);
    },
    async deadAmong(runId, externalIds) {
      if (externalIds.length === 0) return [];
      const flags = await redis.smismember(keys(runId).deadusers, ...externalIds);
      return flags.map((f) => f === 1);
    },
    async noteLater(runId, writes) {
      if (writes.length === 0) return;
      const k = keys(runId);
      await lua.brazeLater(k.deadusers, k.later, ttl, ...writes.flat());
    },
    async laterWrites(runId, externalId, names) {
      if (names.length === 0) return [];
      const got = await redis.hmget(keys(runId).later, ...names.map((n) => `${externalId}\0${n}`));
      return got.map((v) => {
        const [set, inc] = (v ?? '0,0').split(',').map(Number);
        return { set: set ?? 0, inc: inc ?? 0 };
      });
    },
    async laneReady(runId, place) {
      if (place.needs < 0) return true;
      const finished = await redis.hget(keys(runId).lanes, String(place.lane));
      return Number(finished ?? -1) >= place.needs;
    },
    async clearInflight(runId, jobId) {
      await redis.srem(keys(runId).inflight, jobId);
    },
    async markProducerDone(runId) {
      const k = keys(runId);
      const status = (await lua.brazeProducerDone(k.run, Date.now())) as string;
      await expireAll(k);
      return status;
    },
    async resume(runId, owner, leaseUntil, mode, ownerGone = false) {
      const k = keys(runId);
      const args = [owner, leaseUntil, mode, Date.now(), ownerGone ? 1 : 0];
      return (await lua.brazeResume(k.run, k.batches, ...args)) as string;
    },
    async producerBatch(runId, seq, deltas, rejections) {
      const k = keys(runId);
      const letters = rejections.flatMap((r) => [r.line, r.text]);
      await lua.brazeProducerBatch(
        k.run,
        k.rejected,
        k.batches,
        k.rejectedLines,
        seq,
        ttl,
        ...counterArgs(deltas),
        ...letters,
      );
      if (seq % 50 === 0) await expireAll(k);
    },
    deadLetterPage: (runId, list, start, stop) =>
      redis.lrange(list === 'rejected' ? keys(runId).rejected : keys(runId).dlq, start, stop),
    async countDeadLetters(runId) {
      const k = keys(runId);
      const [a, b] = await Promise.all([redis.llen(k.rejected), redis.llen(k.dlq)]);
      return a + b;
    },
    async purgeDeadLetters(runId) {
      const k = keys(runId);
      await redis.del(k.dlq, k.rejected);
    },
    async stop(runId, status, reason) {
      const k = keys(runId);
      const was = (await lua.brazeStop(k.run, status, reason ?? '', Date.now())) as string | null;
      // A stopped run may never reach markProducerDone: its sets still need a TTL.
      await expireAll(k);
      return was ?? undefined;
    },
    async renewLease(runId, owner, leaseUntil) {
      const st = await lua.brazeLease(keys(runId).run, owner, leaseUntil, Date.now());
      return (st as string | null) ?? undefined;
    },
    async findByFingerprint(fingerprint) {
      return (await redis.get(fingerprintKey(prefix, fingerprint))) ?? undefined;
    },
    async rememberFingerprint(fingerprint, runId) {
      await redis.set(fingerprintKey(prefix, fingerprint), runId, 'EX', ttl);
    },
    async joinFleet(destId, runId) {
      const key = fleetKey(prefix, destId);
      await redis.multi().sadd(key, runId).expire(key, ttl).exec();
    },
    async leaveFleet(destId, runId) {
      return (await redis.srem(fleetKey(prefix, destId), runId)) === 1;
    },
    fleetRuns: (destId) => redis.smembers(fleetKey(prefix, destId)),
  };
  return store;
}

/** A script's counter arguments: how many, then name and delta for each that is not zero. */
function counterArgs(deltas: Partial<Counts>): string[] {
  const pairs = Object.entries(deltas).filter(([, d]) => d !== 0 && d !== undefined);
  return [String(pairs.length), ...pairs.flat().map(String)];
}

function bestOf(h: Record<string, string>): NonNullable<RunRecord['best']> {
  const pick = (c: string) => Number(h[`best${c[0]!.toUpperCase()}${c.slice(1)}`] ?? 0);
  return Object.fromEntries(READING_COUNTS.map((c) => [c, pick(c)])) as NonNullable<RunRecord['best']>;
}

const num = (v: string | undefined) => (v === undefined || v === '' ? undefined : Number(v));

function toRecord(h: Record<string, string>): RunRecord {
  const counts = Object.fromEntries(COUNTERS.map((c) => [c, Number(h[c] ?? 0)])) as Counts;
  return {
    ...counts,
    runId: h['runId'] ?? '',
    status: (h['status'] ?? 'reading') as RunStatus,
    source: h['source'] ?? '',
    fingerprint: h['fingerprint'],
    createdAt: Number(h['createdAt'] ?? 0),
    finishedAt: num(h['finishedAt']),
    producerDone: h['producerDone'] === '1',
    reason: h['reason'],
    endpoint: h['endpoint'],
    keyFp: h['keyFp'],
    destId: h['destId'],
    mode: h['mode'] === 'fleet' ? 'fleet' : h['mode'] === 'local' ? 'local' : undefined,
    owner: h['owner'],
    leaseUntil: num(h['leaseUntil']),
    seenAt: num(h['seenAt']),
    inputBytes: num(h['inputBytes']),
    replayOf: h['replayOf'],
    replayedBy: h['replayedBy'],
    idColumn: h['idColumn'],
    mapping: h['mapping'],
    idCollisions: h['idCollisions'],
    ...(h['kind'] ? { kind: h['kind'] } : {}),
    ...(h['share'] ? { share: Number(h['share']) } : {}),
    ...(h['api'] === 'bulk' ? { api: 'bulk' as const } : {}),
    ...(h['jobGroup'] ? { jobGroup: Number(h['jobGroup']) } : {}),
    ...(h['kind'] === 'sync'
      ? { sync: Object.fromEntries(SYNC_COUNTERS.map((c) => [c, Number(h[c] ?? 0)])) as SyncCounts }
      : {}),
    ...(h['syncBase']
      ? {
          syncName: h['syncName'],
          syncBase: h['syncBase'],
          syncMark: num(h['syncMark']),
          syncBuckets: num(h['syncBuckets']),
        }
      : {}),
    ...(h['bestRowsRead'] === undefined ? {} : { best: bestOf(h) }),
  };
}
