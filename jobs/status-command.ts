import type { Command } from 'commander';
import { cancelRun, parkedChunks } from '../src/control/run-actions.js';
import { UsageError } from '../src/errors.js';
import { createTrackQueue } from '../src/infra/queues.js';
import { ownerIsDead } from '../src/runs/owner.js';
import { isCompleted, isLive, type RunRecord } from '../src/runs/store.js';
import { formatSummary, isAbandoned, type Summary, summarize } from '../src/runs/summary.js';
import { out } from './common.js';
import { runOrLatest, type StateContext, withRuns } from './state.js';
import { runsTable, watchRun } from './status-views.js';

/** A run's summary with what it has parked: chunks queued that nobody sends until it is resumed. */
async function withParked(ctx: StateContext, run: RunRecord): Promise<Summary> {
  const dead = run.owner !== undefined && ownerIsDead(run.owner);
  const summary = summarize(run, Date.now(), dead);
  const stopped = !isLive(run.status) || isAbandoned(run, Date.now(), dead);
  if (!stopped || isCompleted(run.status) || run.status === 'cancelled') return summary;
  const queue = createTrackQueue(ctx.redis, ctx.prefix, run.runId);
  try {
    return { ...summary, parked: { chunks: await parkedChunks(ctx.runs, queue, run.runId) } };
  } finally {
    await queue.close();
  }
}

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description('show a run (default: the latest) or, with --all, the recent runs (needs REDIS_URL)')
    .argument('[run]', 'run id')
    .option('--all', 'list recent runs: kind, status, start, duration and counts in columns')
    .option('--watch', "refresh the run's progress line until it ends; exits as `run` would (0, 3 or 1)")
    .option('--json', 'print JSON')
    .action(async (runId: string | undefined, flags: { all?: boolean; watch?: boolean; json?: boolean }) => {
      if (flags.all && flags.watch) throw new UsageError('--all and --watch: choose one');
      await withRuns('status', async (ctx) => {
        const { runs } = ctx;
        if (flags.all) {
          const all = await runs.recent(50);
          if (flags.json) out(JSON.stringify(all.map((r) => summarize(r))));
          else out(runsTable(all, Date.now()));
          return;
        }
        const run = await runs.get(await runOrLatest(runs, runId));
        if (!run) throw new UsageError(`no run ${runId}`);
        if (flags.watch) {
          process.exitCode = await watchRun(ctx, run.runId, { json: flags.json ?? false });
          return;
        }
        const summary = await withParked(ctx, run);
        out(flags.json ? JSON.stringify(summary) : formatSummary(summary));
      });
    });
}

export function cancelCommand(program: Command): void {
  program
    .command('cancel')
    .description(
      'drop what a stopped (or running) run still has queued: nobody sends it any more, and its objects count as not attempted (needs REDIS_URL)',
    )
    .argument('<run>', 'run id')
    .option('--json', 'print the run summary as one JSON object on stdout')
    .action(async (runId: string, flags: { json?: boolean }) => {
      await withRuns('cancel', async (ctx) => {
        const done = await cancelRun(ctx, runId, 'braze-import cancel');
        if (!done.ok) throw new UsageError(done.message);
        const { summary, dropped, wasLive } = done;
        if (flags.json) {
          out(JSON.stringify({ ...summary, droppedChunks: dropped }));
          return;
        }
        out(formatSummary(summary));
        out(
          `Cancelled: ${dropped} queued chunk(s) dropped; ${summary.objects.notAttempted} object(s) not attempted.` +
            (wasLive ? ' Requests already in flight finish and are counted.' : ''),
        );
      });
    });
}
