/**
 * What a schedule's firing hands a sync, and what it needs back: the seam between schedules
 * (src/sync/schedules.ts, fire.ts) and the sync itself, which the worker passes in
 * (jobs/sync-launcher.ts). Schedules know nothing else of how a sync works.
 */
export interface SyncSpec {
  /** The schedule's name. */
  name: string;
  /** The file picked (absolute path), complete and new since the schedule's last successful sync. */
  file: string;
  /** The schedule's other sync flags, as given to `schedule set` (e.g. ["--id-column", "uid"]). */
  argv: string[];
  /** The mapping file (absolute path), if the schedule has one. */
  mapping?: string;
}

export interface SyncResult {
  runId?: string;
  /** The run's final status (completed, completed_with_errors, halted, interrupted, failed...). */
  status: string;
  /** As the CLI would exit: 0 and 3 mean the file was synced (the next firing skips it if unchanged). */
  exitCode: number;
}

/**
 * Runs one sync to its end. `signal` aborts when the worker is asked to stop (first SIGTERM): stop
 * as `run` does on its first Ctrl-C and resolve with the status reached, within the worker's drain
 * deadline (BRAZE_IMPORT_SHUTDOWN_MS). A rejection is recorded as the firing's outcome, not retried.
 */
export type SyncLauncher = (spec: SyncSpec, signal: AbortSignal) => Promise<SyncResult>;

/** Exit codes of a sync that used its file up: completed, or completed with rejected rows. */
export function syncedFile(result: SyncResult): boolean {
  return result.exitCode === 0 || result.exitCode === 3;
}
