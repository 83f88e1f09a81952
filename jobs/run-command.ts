import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { runFlagConflicts, runFlagsSchema } from '../schemas/cli.js';
import { notifyTarget } from '../schemas/observe.js';
import { type Config, requireBraze } from '../src/config.js';
import { exportDeadLetters, readDeadLetters } from '../src/dead-letter/export.js';
import { UsageError } from '../src/errors.js';
import { dryRun } from '../src/import/dry-run.js';
import { type ImportOptions, runImport } from '../src/import/import.js';
import { type OpenedInput, openInput } from '../src/import/input.js';
import type { Logger } from '../src/infra/logger.js';
import { provideRedis } from '../src/infra/redis.js';
import { installShutdown } from '../src/infra/resources.js';
import { endsRun, notifyRunEnd } from '../src/notify/notify.js';
import type { RunStore } from '../src/runs/store.js';
import { exitCodeFor, formatSummary, type Summary } from '../src/runs/summary.js';
import {
  exitAfter,
  out,
  parseFlags,
  RUN_HEAP_GROWING_PERCENT,
  setup,
  tuneHeapForStreaming,
} from './common.js';
import { createProgress } from './progress.js';
import { prewarmSenderThread, startThreadSender } from './thread-sender.js';

/** A forced stop ends the process within this long, whatever Redis and Braze are doing. */
const FORCE_EXIT_MS = 1500;

export function runCommand(program: Command): void {
  const cmd = program
    .command('run')
    .description(
      'import a CSV or JSONL file (or - for stdin) into Braze; sends in this process unless --enqueue-only',
    )
    .argument('<file>', 'input file (.csv, .jsonl, optionally .gz), or - for stdin');
  sendOptions(
    inputOptions(cmd)
      .option(
        '--resume <run>',
        'continue an interrupted, crashed or halted run with the same input (needs REDIS_URL)',
      )
      .option(
        '--new-key',
        "with --resume: the run's API key was rotated; send the rest with this key (same endpoint, same workspace)",
      )
      .option('--force', 'import even if this exact input was imported before')
      .option('--dry-run', 'read, validate and chunk without sending; report what would be sent')
      .option('--enqueue-only', 'only enqueue; `braze-import worker` processes send (needs REDIS_URL)'),
  ).action(async (file: string, raw: Record<string, unknown>) => {
    const flags = parseFlags(runFlagsSchema, raw);
    const notify = notifyTarget(raw['notify'], process.env, flags.enqueueOnly);
    const conflicts = [...runFlagConflicts(flags), ...(notify.ok ? [] : [notify.problem])];
    if (conflicts.length > 0) throw new UsageError(conflicts);
    // The sending thread loads its modules while this one reads config, hashes the input and begins.
    if (!flags.dryRun && !flags.enqueueOnly) prewarmSenderThread();
    tuneHeapForStreaming(RUN_HEAP_GROWING_PERCENT);
    const { config, log } = setup(flags);
    const input = await openInput(file, flags, config);
    if (flags.dryRun) {
      const report = await dryRun(input, config.braze.trackRateLimits, 20, config.braze.rateSlackMs);
      if (flags.json) out(JSON.stringify(report));
      else out(report.text);
      process.exitCode = report.rows.rejected > 0 ? 3 : 0;
      return;
    }
    await executeRun(input, { ...flags, notify: notify.ok ? notify.url : undefined }, config, log, (o) =>
      runImport(input, o),
    );
  });
}

/** Flags every command that runs an import shares (run, sync, backfill). */
export interface ExecuteFlags {
  runId?: string | undefined;
  resume?: string | undefined;
  newKey?: boolean;
  force?: boolean;
  enqueueOnly?: boolean;
  concurrency?: number | undefined;
  json: boolean;
  /** POST the summary here when the run ends (see src/notify). */
  notify?: string | undefined;
}

/**
 * A run as the CLI runs it: signals (graceful, then forced), the progress line on a terminal, a
 * private Redis when REDIS_URL is unset, the summary, the dead letters of a private Redis kept in a
 * file, and the exit code. `start` is the import itself (runImport, runSync).
 */
export async function executeRun(
  input: OpenedInput,
  flags: ExecuteFlags,
  config: Config,
  log: Logger,
  start: (o: ImportOptions) => Promise<Summary>,
): Promise<Summary> {
  const braze = requireBraze(config);
  if (flags.enqueueOnly && !config.redisUrl) {
    throw new UsageError('--enqueue-only needs REDIS_URL: workers must reach the same Redis');
  }
  if (flags.resume && !config.redisUrl) {
    throw new UsageError('--resume needs REDIS_URL: a run without it used a private Redis that is gone');
  }
  let stopping = false;
  let recordForcedStop: () => Promise<void> = async () => {};
  const progressShown = Boolean(process.stderr.isTTY) && !flags.json;
  const progress = createProgress(progressShown);
  const uninstall = installShutdown({
    onGraceful: () => {
      stopping = true;
      const warning = 'stopping: no more reading; waiting for requests in flight (Ctrl-C again to force)';
      // On a terminal the warning stays above the progress line whatever the log level.
      if (progressShown) progress.note(warning);
      else log.warn(warning);
    },
    onForce: (why) => {
      progress.stop();
      log.warn({ why }, 'forced stop: recording the run as interrupted');
      // Whatever Redis is doing, the process ends within FORCE_EXIT_MS; a run it could not record
      // is found abandoned (its lease lapses) and resumed like an interrupted one.
      exitAfter(FORCE_EXIT_MS, 130);
      void recordForcedStop().finally(() => process.exit(130));
    },
    deadlineMs: config.shutdownMs,
  });
  const redis = await provideRedis(config.redisUrl);
  let exported: string | undefined;
  try {
    const summary = await start({
      config,
      log,
      redisUrl: redis.url,
      braze,
      runId: flags.runId,
      resume: flags.resume,
      newKey: flags.newKey,
      force: flags.force,
      enqueueOnly: flags.enqueueOnly,
      concurrency: flags.concurrency,
      stopped: () => stopping,
      onProgress: (run) => progress.update(run),
      onForce: (f) => {
        recordForcedStop = f;
      },
      startSender: startThreadSender,
      beforeClose: async ({ runs, runId }) => {
        // A private Redis dies with this command: keep its dead letters in a file.
        if (redis.private) exported = await saveDeadLetters(runs, runId, input.format, input.source);
      },
    });
    progress.stop();
    report(summary, flags.json, exported);
    if (flags.notify && endsRun(summary.status) && !summary.alreadyImported)
      await notifyRunEnd(flags.notify, summary, log);
    // The summary said what was sent; the error line says why the rest was not (exit 2).
    if (summary.inputError) throw new UsageError(summary.inputError);
    process.exitCode = flags.enqueueOnly || summary.alreadyImported ? 0 : exitCodeFor(summary.status);
    return summary;
  } finally {
    progress.stop();
    uninstall();
    await redis.release();
  }
}

export function report(summary: Summary, json: boolean, exported?: string): void {
  if (json) {
    out(JSON.stringify(exported ? { ...summary, deadLetterFile: exported } : summary));
    return;
  }
  if (summary.alreadyImported) {
    out(
      `Already imported as run ${summary.runId} (${summary.status}); nothing was sent. ` +
        'Pass --force to import it again.',
    );
    return;
  }
  out(formatSummary(summary));
  if (summary.status === 'interrupted' || summary.status === 'halted') {
    out(
      summary.sync
        ? `Run the same sync again to send the rest: it sends whatever Braze has not accepted`
        : `Continue with: braze-import ${summary.kind ?? 'run'} ${summary.source} --resume ${summary.runId}`,
    );
  }
  if (exported) out(`Dead letters written to ${exported} (fix the rows and import that file again)`);
  else if (summary.deadLetters > 0)
    out(`See the dead letters with: braze-import dlq list --run ${summary.runId}`);
}

export async function saveDeadLetters(
  runs: RunStore,
  runId: string,
  format: 'csv' | 'jsonl',
  source: string,
): Promise<string | undefined> {
  if ((await runs.countDeadLetters(runId)) === 0) return undefined;
  const path = `braze-import-${runId}.dead-letters.${format}`;
  const stream = createWriteStream(path);
  await exportDeadLetters(
    () => readDeadLetters(runs, runId, source),
    format,
    (t) => {
      if (!stream.write(t)) return new Promise<void>((r) => stream.once('drain', () => r()));
    },
  );
  await new Promise<void>((resolve, reject) =>
    stream.end((err?: Error | null) => (err ? reject(err) : resolve())),
  );
  return path;
}

/** The input flags `run`, `sync` and `backfill` share. */
export function inputOptions(cmd: Command): Command {
  return cmd
    .option('--format <format>', 'csv or jsonl (default: guessed from the file name)')
    .option('--delimiter <char>', 'CSV delimiter (default ,)')
    .option('--mapping <file>', 'mapping file: rename, type, drop columns, build events and purchases')
    .option('--id-column <name>', 'the column holding external_id (default external_id)')
    .option('--run-id <id>', 'run id (default: generated)');
}

/** The sending, output and destination flags `run`, `sync` and `backfill` share. */
export function sendOptions(cmd: Command): Command {
  return cmd
    .option(
      '--concurrency <n>',
      'requests in flight in this process (default: sized to the rate limit and the latency Braze answers with)',
    )
    .option('--json', 'print the summary as one JSON object on stdout')
    .option('--api-key-file <file>', 'read the Braze API key from FILE instead of BRAZE_API_KEY')
    .option('--allow-endpoint <url>', 'accept BRAZE_REST_ENDPOINT although it is not a Braze REST host')
    .option('--redact-ids', 'hash user identifiers in logs (same as BRAZE_IMPORT_REDACT_IDS=true)')
    .option(
      '--notify <url>',
      'POST the summary (JSON, Slack-compatible) when the run ends (or BRAZE_IMPORT_NOTIFY_URL)',
    );
}
