import type { Redis } from 'ioredis';
import { CLAIM, PRODUCER_BATCH, PRODUCER_DONE, RESUME, SETTLE, START } from './scripts.js';

/**
 * A run lives in Redis: a hash of counters and status, a set of settled job ids (the ledger that
 * keeps a re-processed job from being counted twice), the ids it enqueued and has in flight, and
 * two dead-letter lists (rows we rejected; objects Braze refused or we gave up on).
 */
export type RunStatus =
  | 'reading'
  | 'sending'
  | 'completed'
  | 'completed_with_errors'
  | 'halted'
  | 'failed'
  | 'interrupted';

export const FINAL_STATUSES: ReadonlySet<string> = new Set([
  'completed',
  'completed_with_errors',
  'halted',
  'failed',
  'interrupted',
]);

/** The run finished and everything it read was dealt with (with or without dead letters). */
export function isCompleted(status: string): boolean {
  return status === 'completed' || status === 'completed_with_errors';
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
] as const;
export type Counter = (typeof COUNTERS)[number];
export type Counts = Record<Counter, number>;

export interface RunRecord extends Counts {
  runId: string;
  status: RunStatus;
  source: string;
  fingerprint?: string;
  createdAt: number;
  finishedAt?: number;
  producerDone: boolean;
  reason?: string;
}

export function runKeys(prefix: string, runId: string) {
  return {
    run: `${prefix}:run:${runId}`,
    /** Ledger: job ids whose outcome is recorded. */
    done: `${prefix}:run:${runId}:done`,
    /** Job ids ever enqueued, so jobsOpen counts each once. */
    enqueued: `${prefix}:run:${runId}:enqueued`,
    /** Job ids whose request may have reached Braze without an answer (crash, timeout, reset). */
    inflight: `${prefix}:run:${runId}:inflight`,
    /** Dead letters from Braze or retries (kept across resumes). */
    dlq: `${prefix}:dlq:${runId}`,
    /** Rows our validation rejected (recounted on resume). */
    rejected: `${prefix}:dlq:${runId}:rejected`,
    /** Producer batches recorded (so a re-sent batch is not counted twice). */
    batches: `${prefix}:run:${runId}:batches`,
    index: `${prefix}:runs`,
  };
}

export function fingerprintKey(prefix: string, fingerprint: string): string {
  return `${prefix}:fp:${fingerprint}`;
}

type Script = (...args: Array<string | number>) => Promise<unknown>;
interface Scripted {
  brazeSettle: Script;
  brazeProducerDone: Script;
  brazeClaim: Script;
  brazeResume: Script;
  brazeProducerBatch: Script;
  brazeStart: Script;
}

export interface RunStore {
  create(runId: string, source: string, extra?: Record<string, string>): Promise<boolean>;
  get(runId: string): Promise<RunRecord | undefined>;
  list(limit?: number): Promise<string[]>;
  incr(runId: string, deltas: Partial<Counts>): Promise<void>;
  /** Once per job id: counters, dead letters and, when it was the last open job, the final status. */
  settle(runId: string, jobId: string, deltas: Partial<Counts>, deadLetters: string[]): Promise<boolean>;
  /** Which of these jobs still need a place in the queue (not settled); counts new ones as open. */
  claim(runId: string, jobIds: string[]): Promise<boolean[]>;
  isSettled(runId: string, jobId: string): Promise<boolean>;
  /**
   * Before a request: marks it as possibly delivered. 'again' when an earlier attempt never got an
   * answer; 'settled' when the chunk's outcome is already recorded, so it must not be sent again.
   */
  markInflight(runId: string, jobId: string): Promise<'first' | 'again' | 'settled'>;
  /** Braze answered (or the request never left): not in flight any more. */
  clearInflight(runId: string, jobId: string): Promise<void>;
  markProducerDone(runId: string): Promise<string>;
  /** Prepares a run to read its input again; returns the status it had. */
  resume(runId: string): Promise<string>;
  /** The producer's counts and rejected rows for batch `seq`, applied once however often sent. */
  producerBatch(runId: string, seq: number, deltas: Partial<Counts>, rejections: string[]): Promise<void>;
  deadLetterPage(runId: string, list: 'rejected' | 'sent', start: number, stop: number): Promise<string[]>;
  countDeadLetters(runId: string): Promise<number>;
  purgeDeadLetters(runId: string): Promise<void>;
  setStatus(runId: string, status: RunStatus, reason?: string): Promise<void>;
  /** The run that imported this input before, if any (within the retention period). */
  findByFingerprint(fingerprint: string): Promise<string | undefined>;
  rememberFingerprint(fingerprint: string, runId: string): Promise<void>;
}

export function createRunStore(redis: Redis, prefix: string, retentionMs: number): RunStore {
  const r = redis as Redis & Partial<Scripted>;
  if (!r.brazeSettle) {
    r.defineCommand('brazeSettle', { numberOfKeys: 4, lua: SETTLE });
    r.defineCommand('brazeProducerDone', { numberOfKeys: 1, lua: PRODUCER_DONE });
    r.defineCommand('brazeClaim', { numberOfKeys: 3, lua: CLAIM });
    r.defineCommand('brazeResume', { numberOfKeys: 3, lua: RESUME });
    r.defineCommand('brazeProducerBatch', { numberOfKeys: 3, lua: PRODUCER_BATCH });
    r.defineCommand('brazeStart', { numberOfKeys: 2, lua: START });
  }
  const lua = r as Redis & Scripted;
  const keys = (runId: string) => runKeys(prefix, runId);
  const ttl = Math.ceil(retentionMs / 1000);
  // TTL refreshes are best effort: a MULTI cut off by a reconnect must not fail a chunk or a run.
  const expireAll = async (k: ReturnType<typeof keys>) => {
    const m = redis.multi();
    for (const key of [k.run, k.done, k.enqueued, k.inflight, k.dlq, k.rejected, k.batches])
      m.expire(key, ttl);
    await m.exec().catch(() => undefined);
  };

  return {
    async create(runId, source, extra = {}) {
      const k = keys(runId);
      const created = await redis.hsetnx(k.run, 'runId', runId);
      if (created === 0) return false;
      const now = Date.now();
      await redis
        .multi()
        .hset(k.run, { status: 'reading', source, createdAt: now, producerDone: '0', ...extra })
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
    async incr(runId, deltas) {
      const k = keys(runId).run;
      const m = redis.multi();
      for (const [name, delta] of Object.entries(deltas)) if (delta) m.hincrby(k, name, delta);
      await m.exec();
    },
    async settle(runId, jobId, deltas, deadLetters) {
      const k = keys(runId);
      const args = [jobId, Date.now(), ttl, ...counterArgs(deltas), ...deadLetters];
      // The script gives the keys it creates the retention TTL: no extra commands per chunk.
      return (await lua.brazeSettle(k.done, k.run, k.dlq, k.inflight, ...args)) === 1;
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
    async isSettled(runId, jobId) {
      return (await redis.sismember(keys(runId).done, jobId)) === 1;
    },
    async markInflight(runId, jobId) {
      const k = keys(runId);
      const mark = Number(await lua.brazeStart(k.done, k.inflight, jobId, ttl));
      return mark < 0 ? 'settled' : mark > 0 ? 'again' : 'first';
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
    async resume(runId) {
      const k = keys(runId);
      return (await lua.brazeResume(k.run, k.rejected, k.batches)) as string;
    },
    async producerBatch(runId, seq, deltas, rejections) {
      const k = keys(runId);
      await lua.brazeProducerBatch(k.run, k.rejected, k.batches, seq, ...counterArgs(deltas), ...rejections);
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
    async setStatus(runId, status, reason) {
      const fields: Record<string, string | number> = { status };
      if (reason) fields['reason'] = reason;
      if (FINAL_STATUSES.has(status)) fields['finishedAt'] = Date.now();
      await redis.hset(keys(runId).run, fields);
      // An interrupted or halted run may never reach markProducerDone: its sets still need a TTL.
      if (FINAL_STATUSES.has(status)) await expireAll(keys(runId));
    },
    async findByFingerprint(fingerprint) {
      return (await redis.get(fingerprintKey(prefix, fingerprint))) ?? undefined;
    },
    async rememberFingerprint(fingerprint, runId) {
      await redis.set(fingerprintKey(prefix, fingerprint), runId, 'EX', ttl);
    },
  };
}

/** A script's counter arguments: how many, then name and delta for each that is not zero. */
function counterArgs(deltas: Partial<Counts>): string[] {
  const pairs = Object.entries(deltas).filter(([, d]) => d !== 0 && d !== undefined);
  return [String(pairs.length), ...pairs.flat().map(String)];
}

function toRecord(h: Record<string, string>): RunRecord {
  const counts = Object.fromEntries(COUNTERS.map((c) => [c, Number(h[c] ?? 0)])) as Counts;
  return {
    ...counts,
    runId: h['runId'] ?? '',
    status: (h['status'] ?? 'reading') as RunStatus,
    source: h['source'] ?? '',
    fingerprint: h['fingerprint'],
    createdAt: Number(h['createdAt'] ?? 0),
    finishedAt: h['finishedAt'] ? Number(h['finishedAt']) : undefined,
    producerDone: h['producerDone'] === '1',
    reason: h['reason'],
  };
}
