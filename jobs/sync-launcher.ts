import { notifyTarget } from '../schemas/observe.js';
import type { Config } from '../src/config.js';
import { openInput } from '../src/import/input.js';
import { runSync } from '../src/import/sync.js';
import type { Logger } from '../src/infra/logger.js';
import { endsRun, notifyRunEnd } from '../src/notify/notify.js';
import { exitCodeFor } from '../src/runs/summary.js';
import type { SyncLauncher } from '../src/sync/launcher.js';
import { parseSyncArgv, syncOptionsOf } from './sync-command.js';

/** What a launcher running in `braze-import worker` has at hand. */
export interface SyncLauncherContext {
  config: Config;
  log: Logger;
  redisUrl: string;
  braze: { endpoint: string; apiKey: string };
}

/**
 * The sync a schedule's firing starts in `braze-import worker`: `sync FILE [flags]` run in this
 * process with the worker's destination and Redis, sending its own chunks (as `sync` does), stopped
 * like `run` on its first Ctrl-C when the worker is asked to stop. Its change record is the one named
 * `--name` in the schedule's flags, else the schedule's own name. Anything `sync` would refuse (a
 * changed header, a truncated snapshot under --unset-missing) rejects: the firing records why.
 */
export function createSyncLauncher(ctx: SyncLauncherContext): SyncLauncher {
  return async (spec, signal) => {
    const { flags, raw } = parseSyncArgv([
      ...spec.argv,
      ...(spec.mapping ? ['--mapping', spec.mapping] : []),
    ]);
    const notify = notifyTarget(raw['notify'], process.env);
    const input = await openInput(spec.file, flags, ctx.config);
    const s = syncOptionsOf(flags, spec.file, flags.name ?? spec.name, () =>
      openInput(spec.file, flags, ctx.config),
    );
    const log = ctx.log.child({ schedule: spec.name });
    const summary = await runSync(
      input,
      {
        config: ctx.config,
        log,
        redisUrl: ctx.redisUrl,
        braze: ctx.braze,
        runId: flags.runId,
        concurrency: flags.concurrency,
        stopped: () => signal.aborted,
      },
      s,
    );
    log.info(
      { runId: summary.runId, status: summary.status, ...summary.sync, file: spec.file },
      'scheduled sync ended',
    );
    if (notify.ok && notify.url && endsRun(summary.status)) await notifyRunEnd(notify.url, summary, log);
    return {
      runId: summary.runId,
      status: summary.status,
      exitCode: summary.inputError ? 2 : exitCodeFor(summary.status),
    };
  };
}
