import type { RunControl } from '../control/run-actions.js';
import {
  createScheduleStore,
  createSchedulesQueue,
  listSchedules as listSyncSchedules,
} from '../sync/schedules.js';

/**
 * The schedules the dashboard lists at `/` (nightly syncs, backfills).
 *
 * `/` renders what this returns; a schedule's last run links to its page when `lastRunId` is set.
 */
export interface Schedule {
  /** Stable name of the schedule (e.g. `nightly-users`). */
  name: string;
  /** The kind of run it starts. */
  kind: 'sync' | 'backfill';
  /** Human-readable rule (e.g. a cron expression with its time zone). */
  rule: string;
  /** Next firing, ms since the epoch; undefined when it will not fire again (paused, ended). */
  nextAt?: number;
  /** The run its last firing started, and how that run ended (or is going). */
  lastRunId?: string;
  lastStatus?: string;
  lastAt?: number;
}

/**
 * Every destination's schedules in this Redis (the dashboard serves any workspace's runs): their
 * definitions, next firing (BullMQ's job scheduler), and the run their last firing started.
 */
export async function listSchedules(ctx: RunControl): Promise<Schedule[]> {
  const out: Schedule[] = [];
  for (const destId of await destinationsWithSchedules(ctx)) {
    const store = createScheduleStore(ctx.redis, ctx.prefix, destId);
    const queue = createSchedulesQueue(ctx.redis, ctx.prefix, destId);
    try {
      for (const v of await listSyncSchedules(store, queue)) {
        const last = v.state.last;
        const run = v.state.run;
        out.push({
          name: v.def.name,
          kind: 'sync',
          rule: `${v.def.cron} (${v.def.tz})`,
          ...(v.next !== undefined ? { nextAt: v.next } : {}),
          ...(run?.runId ? { lastRunId: run.runId } : {}),
          ...(last
            ? { lastStatus: last.runId === run?.runId && run?.status ? run.status : last.outcome }
            : {}),
          ...(last ? { lastAt: last.at } : {}),
        });
      }
    } finally {
      await queue.close().catch(() => undefined);
    }
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}

async function destinationsWithSchedules(ctx: RunControl): Promise<string[]> {
  const found = new Set<string>();
  const head = `${ctx.prefix}:dest:`;
  let cursor = '0';
  do {
    const [next, keys] = await ctx.redis.scan(cursor, 'MATCH', `${head}*:schedules`, 'COUNT', 500);
    cursor = next;
    for (const k of keys) found.add(k.slice(head.length, -':schedules'.length));
  } while (cursor !== '0');
  return [...found];
}
