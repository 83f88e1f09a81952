import type { Config } from '../src/config.js';
import type { Logger } from '../src/infra/logger.js';
import type { SyncLauncher } from '../src/sync/launcher.js';

/** What a launcher running in `braze-import worker` has at hand. */
export interface SyncLauncherContext {
  config: Config;
  log: Logger;
  redisUrl: string;
  braze: { endpoint: string; apiKey: string };
}

/**
 * The sync a schedule's firing starts in `braze-import worker`. A placeholder until
 * `braze-import sync` exists: every firing that finds a new file records `failed: sync is not built
 * yet`. Replace the body with one that runs a sync of `spec.file` (with `spec.mapping` and
 * `spec.argv`) to its end and resolves with its run id, status and exit code (see SyncLauncher).
 */
export function createSyncLauncher(_ctx: SyncLauncherContext): SyncLauncher {
  return async function syncNotBuiltYet(_spec, _signal) {
    throw new Error('sync is not built yet');
  };
}
