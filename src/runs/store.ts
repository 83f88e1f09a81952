import type { Redis } from 'ioredis';

/**
 * A run lives in Redis: a hash of counters and status, a set of settled job ids (the ledger that
 * keeps a re-processed job from being counted twice), and a list of dead letters.
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
] as const;
export type Counter = (typeof COUNTERS)[number];
export type Counts = Record<Counter, number>;

export interface RunRecord extends Counts {
  runId: string;
  status: RunStatus;
  source: string;
  createdAt: number;
  finishedAt?: number;
  producerDone: boolean;
  reason?: string;
}

export function runKeys(prefix: string, runId: string) {
  return {
    run: `${prefix}:run:${runId}`,
    done: `${prefix}:run:${runId}:done`,
    dlq: `${prefix}:dlq:${runId}`,
    index: `${prefix}:runs`,
  };
}

// Shared by settle and markProducerDone: whoever brings open jobs to zero after reading ended closes the run.
const FINALIZE = `
local function finalize(run, now)
  local st = redis.call('HGET', run, 'status')
  if st ~= 'reading' and st ~= 'sending' then return end
  if redis.call('HGET', run, 'producerDone') ~= '1' then return end
  if tonumber(redis.call('HGET', run, 'jobsOpen') or '0') > 0 then return end
  local dl = tonumber(redis.call('HGET', run, 'deadLetters') or '0')
  redis.call('HSET', run, 'status', dl > 0 and 'completed_with_errors' or 'completed', 'finishedAt', now)
end
`;

/** KEYS: done, run, dlq. ARGV: jobId, now, nCounters, name, delta, ..., deadLetterJson... */
const SETTLE = `${FINALIZE}
if redis.call('SADD', KEYS[1], ARGV[1]) == 0 then return 0 end
local n = tonumber(ARGV[3])
for i = 0, n - 1 do redis.call('HINCRBY', KEYS[2], ARGV[4 + 2 * i], ARGV[5 + 2 * i]) end
for i = 4 + 2 * n, #ARGV do redis.call('RPUSH', KEYS[3], ARGV[i]) end
finalize(KEYS[2], ARGV[2])
return 1
`;

/** KEYS: run. ARGV: now. */
const PRODUCER_DONE = `${FINALIZE}
redis.call('HSET', KEYS[1], 'producerDone', '1')
if redis.call('HGET', KEYS[1], 'status') == 'reading' then redis.call('HSET', KEYS[1], 'status', 'sending') end
finalize(KEYS[1], ARGV[1])
return redis.call('HGET', KEYS[1], 'status')
`;

type SettleFn = (done: string, run: string, dlq: string, ...args: Array<string | number>) => Promise<number>;
type DoneFn = (run: string, now: number) => Promise<string>;

export interface RunStore {
  create(runId: string, source: string, extra?: Record<string, string>): Promise<boolean>;
  get(runId: string): Promise<RunRecord | undefined>;
  list(limit?: number): Promise<string[]>;
  incr(runId: string, deltas: Partial<Counts>): Promise<void>;
  /** Once per job id: counters, dead letters and, when it was the last open job, the final status. */
  settle(runId: string, jobId: string, deltas: Partial<Counts>, deadLetters: string[]): Promise<boolean>;
  markProducerDone(runId: string): Promise<string>;
  addDeadLetters(runId: string, letters: string[]): Promise<void>;
  deadLetters(runId: string, start?: number, stop?: number): Promise<string[]>;
  countDeadLetters(runId: string): Promise<number>;
  purgeDeadLetters(runId: string): Promise<void>;
  setStatus(runId: string, status: RunStatus, reason?: string): Promise<void>;
}

export function createRunStore(redis: Redis, prefix: string, retentionMs: number): RunStore {
  const r = redis as Redis & { brazeSettle?: SettleFn; brazeProducerDone?: DoneFn };
  if (!r.brazeSettle) r.defineCommand('brazeSettle', { numberOfKeys: 3, lua: SETTLE });
  if (!r.brazeProducerDone) r.defineCommand('brazeProducerDone', { numberOfKeys: 1, lua: PRODUCER_DONE });
  const keys = (runId: string) => runKeys(prefix, runId);
  const ttl = Math.ceil(retentionMs / 1000);
  const expireAll = (k: ReturnType<typeof keys>) =>
    redis.multi().expire(k.run, ttl).expire(k.done, ttl).expire(k.dlq, ttl).exec();

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
        .expire(k.run, ttl)
        .exec();
      return true;
    },
    async get(runId) {
      const h = await redis.hgetall(keys(runId).run);
      return h['runId'] ? toRecord(h) : undefined;
    },
    async list(limit = 20) {
      return redis.zrevrange(keys('').index, 0, limit - 1);
    },
    async incr(runId, deltas) {
      const k = keys(runId).run;
      const m = redis.multi();
      for (const [name, delta] of Object.entries(deltas)) if (delta) m.hincrby(k, name, delta);
      await m.exec();
    },
    async settle(runId, jobId, deltas, deadLetters) {
      const k = keys(runId);
      const pairs = Object.entries(deltas).filter(([, d]) => d !== 0 && d !== undefined);
      const args = [jobId, Date.now(), pairs.length, ...pairs.flat().map(String), ...deadLetters];
      const settled = (await r.brazeSettle!(k.done, k.run, k.dlq, ...args)) === 1;
      if (settled && deadLetters.length > 0) await expireAll(k);
      return settled;
    },
    async markProducerDone(runId) {
      const k = keys(runId);
      const status = await r.brazeProducerDone!(k.run, Date.now());
      await expireAll(k);
      return status;
    },
    async addDeadLetters(runId, letters) {
      if (letters.length === 0) return;
      const k = keys(runId);
      await redis
        .multi()
        .rpush(k.dlq, ...letters)
        .expire(k.dlq, ttl)
        .exec();
    },
    deadLetters: (runId, start = 0, stop = -1) => redis.lrange(keys(runId).dlq, start, stop),
    countDeadLetters: (runId) => redis.llen(keys(runId).dlq),
    async purgeDeadLetters(runId) {
      await redis.del(keys(runId).dlq);
    },
    async setStatus(runId, status, reason) {
      const fields: Record<string, string | number> = { status };
      if (reason) fields['reason'] = reason;
      if (FINAL_STATUSES.has(status)) fields['finishedAt'] = Date.now();
      await redis.hset(keys(runId).run, fields);
    },
  };
}

function toRecord(h: Record<string, string>): RunRecord {
  const counts = Object.fromEntries(COUNTERS.map((c) => [c, Number(h[c] ?? 0)])) as Counts;
  return {
    ...counts,
    runId: h['runId'] ?? '',
    status: (h['status'] ?? 'reading') as RunStatus,
    source: h['source'] ?? '',
    createdAt: Number(h['createdAt'] ?? 0),
    finishedAt: h['finishedAt'] ? Number(h['finishedAt']) : undefined,
    producerDone: h['producerDone'] === '1',
    reason: h['reason'],
  };
}
