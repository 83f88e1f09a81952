import { Command } from 'commander';
import { isDynamicPattern } from 'tinyglobby';
import { type SyncFlags, syncFlagsSchema } from '../schemas/cli.js';
import { notifyTarget } from '../schemas/observe.js';
import { requireBraze } from '../src/config.js';
import { UsageError } from '../src/errors.js';
import { openInput } from '../src/import/input.js';
import { drySync, runSync, type SyncOptions } from '../src/import/sync.js';
import { pickInput } from '../src/sync/pick.js';
import { parseReadyMarker } from '../src/sync/pick-rules.js';
import { out, parseFlags, requireRedisUrl, setup, tuneHeapForStreaming } from './common.js';
import { executeRun, inputOptions, sendOptions } from './run-command.js';
import { prewarmSenderThread } from './thread-sender.js';

/** The flags of `sync`, on `cmd` (the CLI command, or a schedule's argv parsed in a worker). */
export function syncOptions(cmd: Command): Command {
  return sendOptions(inputOptions(cmd))
    .option(
      '--name <name>',
      'the change record to compare with: one per export and workspace (default: default; a schedule: its name)',
    )
    .option('--full', 'send every row as it is and refresh the change record')
    .option(
      '--unset-missing',
      'mirror mode: users the snapshot leaves out get their synced attributes set to null',
    )
    .option(
      '--max-unset <percent>',
      'with --unset-missing: refuse when more than this share of known users would be unset (default 5%)',
    )
    .option(
      '--ready-marker <marker>',
      'with a glob: take the newest match only once its marker exists (_SUCCESS in its folder, or FILE.done)',
    )
    .option(
      '--settle <duration>',
      'with a glob: take the newest match only once unchanged this long (e.g. 60s)',
    )
    .option(
      '--force',
      'sync despite changed columns, a snapshot much smaller than the last, or too many unsets',
    )
    .option('--dry-run', 'compare with the change record and report what would be sent; send nothing');
}

/**
 * A schedule's sync flags (`schedule set NAME ... -- FLAGS`) as `sync` reads them: a UsageError
 * (one line per problem) when they are not. The file comes from the schedule, so none is given here.
 */
export function parseSyncArgv(argv: readonly string[]): { flags: SyncFlags; raw: Record<string, unknown> } {
  const cmd = syncOptions(new Command('sync'))
    .exitOverride()
    .configureOutput({ writeOut: () => {}, writeErr: () => {} })
    .allowExcessArguments(false);
  try {
    cmd.parse([...argv], { from: 'user' });
  } catch (err) {
    throw new UsageError(`sync flags: ${(err as Error).message.replace(/^error: /, '')}`);
  }
  if (cmd.args.length > 0) throw new UsageError(`sync flags: "${cmd.args[0]}" is not a flag`);
  const raw = cmd.opts();
  return { flags: parseFlags(syncFlagsSchema, raw), raw };
}

export function syncCommand(program: Command): void {
  syncOptions(
    program
      .command('sync')
      .description(
        'send only what changed since the last sync of the same name to this workspace: new users in full, changed attributes of changed users, events and purchases always (needs REDIS_URL)',
      )
      .argument(
        '<file>',
        'the snapshot (.csv, .jsonl, optionally .gz) or a glob (its newest match), or - for stdin',
      ),
  ).action(async (source: string, raw: Record<string, unknown>) => {
    const flags = parseFlags(syncFlagsSchema, raw);
    const notify = notifyTarget(raw['notify'], process.env);
    if (!notify.ok) throw new UsageError(notify.problem);
    if (!flags.dryRun) prewarmSenderThread();
    tuneHeapForStreaming();
    const { config, log } = setup(flags);
    const redisUrl = requireRedisUrl(config, 'sync');
    const file = await syncInput(source, flags);
    const input = await openInput(file, flags, config);
    const s = syncOptionsOf(flags, file, flags.name ?? 'default', () => openInput(file, flags, config));
    if (flags.dryRun) {
      const braze = requireBraze(config);
      const report = await drySync(
        input,
        { redisUrl, log, config, braze },
        s,
        config.braze.trackRateLimits,
        config.braze.rateSlackMs,
      );
      out(flags.json ? JSON.stringify(report) : report.text);
      process.exitCode = report.rows.rejected > 0 ? 3 : 0;
      return;
    }
    await executeRun(input, { ...flags, enqueueOnly: false, notify: notify.url }, config, log, (o) =>
      runSync(input, o, s),
    );
  });
}

/** What runSync needs of a sync's flags. */
export function syncOptionsOf(
  flags: SyncFlags,
  file: string,
  name: string,
  reopen: SyncOptions['reopen'],
): SyncOptions {
  return {
    name,
    full: flags.full,
    unsetMissing: flags.unsetMissing,
    maxUnset: flags.maxUnset,
    force: flags.force,
    file,
    reopen,
  };
}

/**
 * The file a `sync` reads: the path given, or a glob's newest match, taken only when complete (its
 * --ready-marker, or unchanged for --settle; by default at once: the user asked for it now).
 */
async function syncInput(source: string, flags: SyncFlags): Promise<string> {
  if (source === '-' || !isDynamicPattern(source)) return source;
  const marker = flags.readyMarker === undefined ? undefined : parseReadyMarker(flags.readyMarker);
  if (typeof marker === 'string') throw new UsageError(marker);
  const picked = await pickInput(source, { readyMarker: marker, settleMs: flags.settle ?? 0 });
  if (picked.kind !== 'new') throw new UsageError(`${picked.file.path}: ${picked.reason}; nothing was sent`);
  return picked.file.path;
}
