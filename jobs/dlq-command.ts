import { createWriteStream } from 'node:fs';
import type { Command } from 'commander';
import { z } from 'zod';
import { concurrencyFlag } from '../schemas/cli.js';
import type { DeadLetter } from '../schemas/dead-letter.js';
import { requireBraze } from '../src/config.js';
import { exportDeadLetters, readDeadLetters } from '../src/dead-letter/export.js';
import { type ReplayStage, replayRows } from '../src/dead-letter/replay.js';
import { type Superseded, withoutSuperseded } from '../src/dead-letter/supersede.js';
import { UsageError } from '../src/errors.js';
import { runImport } from '../src/import/import.js';
import { inputChunker, loadMapping } from '../src/import/input.js';
import { inBatches } from '../src/read/index.js';
import { isLive, runKeys } from '../src/runs/store.js';
import { exitCodeFor, isAbandoned } from '../src/runs/summary.js';
import { createValidator, parseMapping } from '../src/validate/index.js';
import { out, parseFlags, requireRedisUrl, setup } from './common.js';
import { report } from './run-command.js';
import { runOrLatest, withRuns } from './state.js';

const replayFlags = z.object({
  run: z.string().optional(),
  includeRejected: z.boolean().default(false),
  mapping: z.string().optional(),
  idColumn: z.string().min(1).optional(),
  newRunId: z.string().optional(),
  force: z.boolean().default(false),
  includeMaybeDelivered: z.boolean().default(false),
  enqueueOnly: z.boolean().default(false),
  concurrency: concurrencyFlag,
  json: z.boolean().default(false),
});

const exportFlags = z.object({
  run: z.string().optional(),
  format: z.enum(['csv', 'jsonl'], { message: '--format must be csv or jsonl' }).default('csv'),
  out: z.string().optional(),
});

export function dlqCommand(program: Command): void {
  const dlq = program
    .command('dlq')
    .description('dead letters: rows that did not reach Braze (needs REDIS_URL)');
  dlq
    .command('list')
    .description("list a run's dead letters: line, stage, code and reason")
    .option('--run <id>', 'run id (default: the latest run)')
    .option('--limit <n>', 'at most this many', '100')
    .option('--json', 'one JSON object per line')
    .action(async (flags: { run?: string; limit: string; json?: boolean }) => {
      await withRuns('dlq list', async ({ runs }) => {
        const runId = await runOrLatest(runs, flags.run);
        const limit = Number(flags.limit) || 100;
        let shown = 0;
        for await (const dl of readDeadLetters(runs, runId)) {
          if (shown++ >= limit) break;
          out(
            flags.json
              ? JSON.stringify(withoutRecord(dl))
              : `line ${dl.line}\t${dl.stage}\t${dl.code}\t${dl.message}${dl.maybeDelivered ? '\t(may already be in Braze)' : ''}`,
          );
        }
        const total = await runs.countDeadLetters(runId);
        if (!flags.json)
          out(`${total} dead letter(s) in run ${runId}${total > limit ? ` (first ${limit} shown)` : ''}`);
      });
    });
  dlq
    .command('export')
    .description('write dead letters in the input shape plus _error_code, _error_message, _source_line')
    .option('--run <id>', 'run id (default: the latest run)')
    .option('--format <format>', 'csv or jsonl', 'csv')
    .option('--out <file>', 'output file (default: stdout)')
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseFlags(exportFlags, raw);
      await withRuns('dlq export', async ({ runs }) => {
        const runId = await runOrLatest(runs, flags.run);
        const stream = flags.out ? createWriteStream(flags.out) : process.stdout;
        const result = await exportDeadLetters(
          () => readDeadLetters(runs, runId),
          flags.format,
          (t) => {
            if (!stream.write(t)) return new Promise<void>((r) => stream.once('drain', () => r()));
          },
        );
        if (flags.out) await new Promise<void>((r) => (stream as NodeJS.WritableStream).end(() => r()));
        const note = result.skipped ? `; ${result.skipped} event/purchase letters need --format jsonl` : '';
        process.stderr.write(`exported ${result.written} dead letter(s) from run ${runId}${note}\n`);
      });
    });
  dlq
    .command('replay')
    .description(
      'send the dead letters of a run again, as a new run (after fixing the cause, e.g. a 5xx outage)',
    )
    .option('--run <id>', 'run id (default: the latest run)')
    .option('--include-rejected', 'also replay rows our validation rejected (they are re-validated)')
    .option(
      '--mapping <file>',
      'the mapping to re-validate rejected rows with (default: the one the original run recorded)',
    )
    .option(
      '--id-column <name>',
      'the column holding external_id (default: the one the original run recorded)',
    )
    .option('--new-run-id <id>', 'id of the replay run (default: generated)')
    .option('--force', 'replay letters that an earlier replay already sent')
    .option(
      '--include-maybe-delivered',
      'also re-send the events and purchases of letters that may already be in Braze (they may be recorded twice)',
    )
    .option('--enqueue-only', 'only enqueue; `braze-import worker` processes send')
    .option(
      '--concurrency <n>',
      'requests in flight in this process (default: sized to the rate limit and the latency Braze answers with)',
    )
    .option('--json', 'print the summary as one JSON object on stdout')
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseFlags(replayFlags, raw);
      const { config, log } = setup();
      const braze = requireBraze(config);
      const url = requireRedisUrl(config, 'dlq replay');
      const stages = new Set<ReplayStage>(
        flags.includeRejected ? ['braze', 'exhausted', 'rejected'] : ['braze', 'exhausted'],
      );
      const given = flags.mapping ? await loadMapping(flags.mapping) : undefined;
      let skipped = 0;
      const superseded: Superseded = { attributes: 0, letters: 0 };
      const summary = await withRuns('dlq replay', async ({ runs }) => {
        const runId = await runOrLatest(runs, flags.run);
        const original = await runs.get(runId);
        if (original && isLive(original.status) && !isAbandoned(original)) {
          throw new UsageError(
            `run ${runId} is still ${original.status}; replay its dead letters when it has stopped`,
          );
        }
        const earlier = original?.replayedBy ? await runs.get(original.replayedBy) : undefined;
        if (earlier && !flags.force) {
          throw new UsageError(
            `the dead letters of ${runId} were replayed by run ${earlier.runId} (${earlier.status}); pass --force to send them again`,
          );
        }
        const current = withoutSuperseded(readDeadLetters(runs, runId), runs, runId, superseded);
        const rows = replayRows(current, stages, {
          includeMaybeDelivered: flags.includeMaybeDelivered,
          onSkip: () => skipped++,
        });
        return runImport(
          {
            source: `dead letters of ${runId}`,
            rows: inBatches(rows),
            // Rejected rows are read again as the original run read them: its id column and mapping.
            validate: createValidator({
              mapping: given ?? recordedMapping(original?.mapping),
              idColumn: flags.idColumn ?? original?.idColumn,
            }),
            ...inputChunker(config),
          },
          {
            config,
            log,
            redisUrl: url,
            braze,
            runId: flags.newRunId,
            replayOf: runId,
            onBegin: (replayId) => runs.set(runId, { replayedBy: replayId }),
            enqueueOnly: flags.enqueueOnly,
            concurrency: flags.concurrency,
          },
        );
      });
      if (superseded.letters + superseded.attributes > 0) {
        process.stderr.write(
          `newer rows of the run had written since: ${superseded.letters} letter(s) not replayed, ${superseded.attributes} attribute(s) left out of the others\n`,
        );
      }
      if (skipped > 0) {
        process.stderr.write(
          `${skipped} event/purchase letter(s) may already be in Braze and were not replayed; --include-maybe-delivered sends them (they may then be recorded twice)\n`,
        );
      }
      report(summary, flags.json);
      process.exitCode = flags.enqueueOnly ? 0 : exitCodeFor(summary.status);
    });
  dlq
    .command('purge')
    .description("delete a run's dead letters now (they also expire after the retention period)")
    .requiredOption('--run <id>', 'run id')
    .action(async (flags: { run: string }) => {
      await withRuns('dlq purge', async ({ runs, prefix }) => {
        const n = await runs.countDeadLetters(flags.run);
        await runs.purgeDeadLetters(flags.run);
        process.stderr.write(
          `purged ${n} dead letter(s) of run ${flags.run} (${runKeys(prefix, flags.run).dlq})\n`,
        );
      });
    });
}

/** The mapping a run recorded (JSON), if any. */
function recordedMapping(text: string | undefined) {
  return text === undefined ? undefined : parseMapping(JSON.parse(text) as unknown);
}

function withoutRecord(dl: DeadLetter): Omit<DeadLetter, 'record'> {
  const { record: _record, ...rest } = dl;
  return rest;
}
