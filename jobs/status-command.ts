import type { Command } from 'commander';
import { UsageError } from '../src/errors.js';
import { createTrackQueue, queuedChunks } from '../src/infra/queues.js';
import { ownerIsDead } from '../src/runs/owner.js';
import { isCompleted, isLive, type RunRecord } from '../src/runs/store.js';
import { formatSummary, isAbandoned, type Summary, summarize } from '../src/runs/summary.js';
import { out } from './common.js';
import { runOrLatest, type StateContext, withRuns } from './state.js';

/** A run's summary with what it has parked: chunks queued that nobody sends until it is resumed. */
async function withParked(ctx: StateContext, run: RunRecord): Promise<Summary> {
  const dead = run.owner !== undefined && ownerIsDead(run.owner);
  const summary = summarize(run, Date.now(), dead);
  const stopped = !isLive(run.status) || isAbandoned(run, Date.now(), dead);
  if (!stopped || isCompleted(run.status) || run.status === 'cancelled') return summary;
  const queue = createTrackQueue(ctx.redis, ctx.prefix, run.runId);
  try {
    return { ...summary, parked: { chunks: await queuedChunks(queue) } };
  } finally {
    await queue.close();
  }
}

export function statusCommand(program: Command): void {
  program
    .command('status')
    .description('show a run (default: the latest) or, with --all, the recent runs (needs REDIS_URL)')
    .argument('[run]', 'run id')
    .option('--all', 'list recent runs')
    .option('--json', 'print JSON')
    .action(async (runId: string | undefined, flags: { all?: boolean; json?: boolean }) => {
      await withRuns('status', async (ctx) => {
        const { runs } = ctx;
        if (flags.all) {
          const ids = await runs.list(50);
          const all = (await Promise.all(ids.map((id) => runs.get(id)))).filter((r) => r !== undefined);
          const summaries = all.map((r) => summarize(r));
          if (flags.json) out(JSON.stringify(summaries));
          else for (const s of summaries) out(`${s.runId}  ${s.status.padEnd(22)} ${s.source}`);
          return;
        }
        const run = await runs.get(await runOrLatest(runs, runId));
        if (!run) throw new UsageError(`no run ${runId}`);
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
        const run = await ctx.runs.get(runId);
        if (!run) throw new UsageError(`no run ${runId} (runs are kept for the retention period)`);
        if (isCompleted(run.status))
          throw new UsageError(`run ${runId} already ${run.status}; nothing to cancel`);
        // Status first: the run's owner and fleet workers stop taking its chunks when they see it.
        await ctx.runs.stop(runId, 'cancelled', 'cancelled with braze-import cancel');
        const queue = createTrackQueue(ctx.redis, ctx.prefix, runId);
        let dropped = 0;
        try {
          dropped = await queuedChunks(queue);
          await queue.obliterate({ force: true });
          await queue.removeRateLimitKey();
          await ctx.runs.dropBodies(runId);
        } finally {
          await queue.close();
        }
        if (run.destId) await ctx.runs.leaveFleet(run.destId, runId);
        const final = await ctx.runs.get(runId);
        const summary = final ? summarize(final) : summarize({ ...run, status: 'cancelled' });
        if (flags.json) {
          out(JSON.stringify({ ...summary, droppedChunks: dropped }));
          return;
        }
        out(formatSummary(summary));
        const live = isLive(run.status) && !isAbandoned(run);
        out(
          `Cancelled: ${dropped} queued chunk(s) dropped; ${summary.objects.notAttempted} object(s) not attempted.` +
            (live ? ' Requests already in flight finish and are counted.' : ''),
        );
      });
    });
}
