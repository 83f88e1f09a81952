import type { RunControl } from '../control/run-actions.js';

/**
 * The schedules the dashboard lists at `/` (nightly syncs, backfills).
 *
 * TODO(issue 13): return the configured schedules once the nightly sync exists. Until then there are
 * none, and the dashboard says so. Nothing else in the dashboard needs to change: `/` renders what
 * this returns, and a schedule's last run links to its page when `lastRunId` is set.
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

/** `ctx`: the dashboard's Redis connection, key prefix and run store, to read schedules and their runs. */
export async function listSchedules(_ctx: RunControl): Promise<Schedule[]> {
  return [];
}
