import type { Command } from 'commander';
import { backfillFlagsSchema, runFlagConflicts } from '../schemas/cli.js';
import { notifyTarget } from '../schemas/observe.js';
import { UsageError } from '../src/errors.js';
import { dryRun } from '../src/import/dry-run.js';
import { runImport } from '../src/import/import.js';
import { openInput } from '../src/import/input.js';
import { lowerPriority } from '../src/infra/priority.js';
import { out, parseFlags, setup, tuneHeapForStreaming } from './common.js';
import { executeRun, inputOptions, sendOptions } from './run-command.js';
import { prewarmSenderThread } from './thread-sender.js';

export function backfillCommand(program: Command): void {
  const cmd = program
    .command('backfill')
    .description(
      "a large one-off load that shares the workspace's budget with its syncs: while a sync sends, it takes at most --share of the burst limit; with --endpoint bulk it goes through /users/track/bulk and leaves /users/track to live traffic",
    )
    .argument('<file>', 'input file (.csv, .jsonl, optionally .gz), or - for stdin')
    .option('--share <percent>', 'most of the burst limit it takes while a sync is sending', '50%')
    .option(
      '--endpoint <endpoint>',
      'track (/users/track, 75 objects a request) or bulk (/users/track/bulk, 1,000 objects, 2 MB, its own limit); default BRAZE_BACKFILL_ENDPOINT or track',
    )
    .option(
      '--nice <n>',
      'CPU priority, 0-19: higher yields the CPU to a sync or run on this machine (0 keeps it as it is)',
      '10',
    );
  sendOptions(
    inputOptions(cmd)
      .option(
        '--resume <run>',
        'continue an interrupted backfill with the same input and flags (needs REDIS_URL)',
      )
      .option('--new-key', 'with --resume: the key was rotated; send the rest with this key (same workspace)')
      .option('--force', 'import even if this exact input was imported before')
      .option('--dry-run', 'read, validate and chunk without sending; report what would be sent')
      .option('--enqueue-only', 'only enqueue; `braze-import worker` processes send (needs REDIS_URL)'),
  ).action(async (file: string, raw: Record<string, unknown>) => {
    const flags = parseFlags(backfillFlagsSchema, raw);
    const notify = notifyTarget(raw['notify'], process.env, flags.enqueueOnly);
    if (!notify.ok) throw new UsageError(notify.problem);
    const conflicts = runFlagConflicts(flags);
    if (conflicts.length > 0) throw new UsageError(conflicts);
    if (!flags.dryRun && !flags.enqueueOnly) prewarmSenderThread();
    // After the sender thread exists, so that it is lowered too (lowerPriority lowers every thread).
    lowerPriority(flags.nice);
    tuneHeapForStreaming();
    const { config, log } = setup(flags);
    const endpoint = flags.endpoint ?? config.braze.backfillEndpoint;
    const input = await openInput(file, { ...flags, endpoint }, config);
    if (flags.dryRun) {
      const limits = endpoint === 'bulk' ? config.braze.bulkRateLimits : config.braze.trackRateLimits;
      const report = await dryRun(input, limits, 20, config.braze.rateSlackMs);
      out(flags.json ? JSON.stringify(report) : report.text);
      process.exitCode = report.rows.rejected > 0 ? 3 : 0;
      return;
    }
    await executeRun(input, { ...flags, notify: notify.url }, config, log, (o) =>
      runImport(input, { ...o, start: { kind: 'backfill', share: flags.share, api: endpoint } }),
    );
  });
}
