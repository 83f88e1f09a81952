import { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import {
  type Firing,
  fileIdentitySchema,
  firingSchema,
  type ScheduleDef,
  scheduleDefSchema,
} from '../../schemas/schedule.js';
import { redisLock } from '../infra/lock.js';
import type { FileIdentity } from './pick-rules.js';

/**
 * Schedules of one destination: their definitions and what their firings did, in Redis under the
 * config prefix, and their firing times as BullMQ job schedulers on the destination's schedules
 * queue. A worker serves only its own destination's queue, so a schedule never runs with another
 * workspace's key; the definition holds the destination's id, never the key.
 *
 * Keys (`<base>` = `<prefix>:dest:<destId>`):
 * - `<base>:schedules`            hash, name -> definition (JSON)
 * - `<base>:schedule:<name>`      hash: `last` (the latest firing), `run` (the latest firing that
 *                                 started a sync), `synced` (the file of the last successful sync)
 * - `<base>:schedule:<name>:lock` the overlap lock: held while a firing of `name` picks and syncs
 * - BullMQ queue `schedules.<destId>`, one job scheduler per schedule, id = name
 */

export const FIRING_JOB = 'fire';

export function schedulesQueueName(destId: string): string {
  return `schedules.${destId}`;
}

export interface FiringJobData {
  name: string;
}

export function scheduleKeys(prefix: string, destId: string) {
  const base = `${prefix}:dest:${destId}`;
  return {
    defs: `${base}:schedules`,
    state: (name: string) => `${base}:schedule:${name}`,
    lock: (name: string) => `${base}:schedule:${name}:lock`,
  };
}

export interface ScheduleState {
  last?: Firing;
  run?: Firing;
  synced?: FileIdentity;
  /** The process (`host:pid:random`) whose firing of it holds the overlap lock now, if any. */
  lockHolder?: string;
}

function parsed<T>(schema: { safeParse(v: unknown): { success: boolean; data?: T } }, text: string | null) {
  if (text === null || text === undefined) return undefined;
  try {
    const r = schema.safeParse(JSON.parse(text));
    return r.success ? r.data : undefined;
  } catch {
    return undefined;
  }
}

export function createScheduleStore(redis: Redis, prefix: string, destId: string) {
  const keys = scheduleKeys(prefix, destId);
  return {
    keys,
    destId,
    async get(name: string): Promise<ScheduleDef | undefined> {
      return parsed(scheduleDefSchema, await redis.hget(keys.defs, name));
    },
    async all(): Promise<ScheduleDef[]> {
      const raw = await redis.hgetall(keys.defs);
      return Object.values(raw)
        .map((text) => parsed(scheduleDefSchema, text))
        .filter((d): d is ScheduleDef => d !== undefined)
        .sort((a, b) => (a.name < b.name ? -1 : 1));
    },
    async put(def: ScheduleDef): Promise<void> {
      await redis.hset(keys.defs, def.name, JSON.stringify(def));
    },
    /** Drops the definition and what its firings recorded. */
    async remove(name: string): Promise<boolean> {
      const [[, removed] = []] =
        (await redis.multi().hdel(keys.defs, name).del(keys.state(name)).exec()) ?? [];
      return removed === 1;
    },
    async state(name: string): Promise<ScheduleState> {
      const [fields, holder] = await Promise.all([
        redis.hgetall(keys.state(name)),
        redis.get(keys.lock(name)),
      ]);
      const state: ScheduleState = {};
      const last = parsed(firingSchema, fields['last'] ?? null);
      const run = parsed(firingSchema, fields['run'] ?? null);
      const synced = parsed(fileIdentitySchema, fields['synced'] ?? null);
      if (last) state.last = last;
      if (run) state.run = run;
      if (synced) state.synced = synced;
      if (holder) state.lockHolder = holder;
      return state;
    },
    /** The firing's outcome; `run` too when it started (or ended) a sync. */
    async record(name: string, firing: Firing, opts: { run?: boolean; synced?: FileIdentity } = {}) {
      const fields: Record<string, string> = { last: JSON.stringify(firing) };
      if (opts.run) fields['run'] = JSON.stringify(firing);
      if (opts.synced) fields['synced'] = JSON.stringify(opts.synced);
      await redis.hset(keys.state(name), fields);
    },
    /** Takes the overlap lock for `ttlMs`; false if a firing of `name` holds it. */
    lock: (name: string, token: string, ttlMs: number) =>
      redisLock.take(redis, keys.lock(name), token, ttlMs),
    renew: (name: string, token: string, ttlMs: number) =>
      redisLock.renew(redis, keys.lock(name), token, ttlMs),
    unlock: (name: string, token: string) => redisLock.release(redis, keys.lock(name), token),
  };
}
export type ScheduleStore = ReturnType<typeof createScheduleStore>;

export function createSchedulesQueue(
  connection: Redis,
  prefix: string,
  destId: string,
  onError: (err: Error) => void = () => {},
): Queue<FiringJobData> {
  const queue = new Queue<FiringJobData>(schedulesQueueName(destId), {
    connection,
    prefix,
    streams: { events: { maxLen: 1000 } },
  });
  queue.on('error', onError);
  return queue;
}

/**
 * Stores the definition, then (re)sets its job scheduler; a definition whose scheduler could not be
 * set is put back as it was, so a failed `schedule set` leaves nothing half done.
 */
export async function saveSchedule(
  store: ScheduleStore,
  queue: Queue<FiringJobData>,
  def: ScheduleDef,
): Promise<void> {
  const before = await store.get(def.name);
  await store.put(def);
  try {
    await queue.upsertJobScheduler(
      def.name,
      { pattern: def.cron, tz: def.tz },
      {
        name: FIRING_JOB,
        data: { name: def.name },
        opts: {
          // A firing that failed is not tried again: the next one comes at its time.
          attempts: 1,
          removeOnComplete: { count: 100 },
          removeOnFail: { count: 100 },
        },
      },
    );
  } catch (err) {
    if (before) await store.put(before);
    else await store.remove(def.name);
    throw err;
  }
}

export async function removeSchedule(
  store: ScheduleStore,
  queue: Queue<FiringJobData>,
  name: string,
): Promise<boolean> {
  const scheduler = await queue.removeJobScheduler(name);
  const def = await store.remove(name);
  return scheduler || def;
}

export interface ScheduleView {
  def: ScheduleDef;
  /** The next firing BullMQ holds (ms), if its scheduler exists. */
  next: number | undefined;
  state: ScheduleState;
}

/** One schedule as it stands: its next firing and what its firings recorded. */
export async function viewOf(
  store: ScheduleStore,
  queue: Queue<FiringJobData>,
  def: ScheduleDef,
): Promise<ScheduleView> {
  const [scheduler, state] = await Promise.all([queue.getJobScheduler(def.name), store.state(def.name)]);
  return { def, next: scheduler?.next ?? undefined, state };
}

export async function listSchedules(
  store: ScheduleStore,
  queue: Queue<FiringJobData>,
): Promise<ScheduleView[]> {
  const defs = await store.all();
  return Promise.all(defs.map((def) => viewOf(store, queue, def)));
}
