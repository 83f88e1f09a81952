import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import { type Express, type NextFunction, type Request, type Response, Router } from 'express';
import type { TrackQueueData } from '../../schemas/track.js';
import { pauseRun, type RunControl, resumeRun } from '../control/run-actions.js';
import type { Logger } from '../infra/logger.js';
import { RUN_ID_PATTERN } from '../runs/ids.js';
import { sanitizeBoardBody, withoutThirdPartyFonts } from './board-sanitize.js';
import { summarizeJobData, summarizeProgress, summarizeReturnValue } from './job-summary.js';
import type { RunQueues } from './run-queues.js';

/** Where bull-board lives; its JSON API is under `${QUEUES_BASE}/api/`. */
export const QUEUES_BASE = '/queues';

/** The queue as bull-board sees it: counts and job metadata, never the user records in a job. */
export function createQueueBoardAdapter(queue: Queue<TrackQueueData>, allowActions: boolean): BullMQAdapter {
  const adapter = new BullMQAdapter(queue, {
    readOnlyMode: !allowActions,
    allowRetries: allowActions,
    description:
      "A run's chunks for Braze /users/track (data shown as a summary only). Completed chunks leave the queue at once: the run's page counts them.",
  });
  adapter.setFormatter('data', summarizeJobData);
  adapter.setFormatter('returnValue', summarizeReturnValue);
  adapter.setFormatter('progress', summarizeProgress);
  return adapter;
}

/**
 * bull-board's writes that --allow-actions opens, and nothing more: retrying and promoting chunks,
 * and removing failed or completed ones. Emptying or obliterating a queue (the run would stay
 * "sending" forever), concurrency and rate-limit changes (the send gate paces, not BullMQ), editing or
 * adding job data, schedulers: refused. Pausing and resuming a queue is done by our run logic.
 */
const ALLOWED_WRITES: Array<[method: string, pattern: RegExp]> = [
  ['PUT', /^\/api\/queues\/[^/]+\/[^/]+\/retry$/],
  ['PUT', /^\/api\/queues\/[^/]+\/retry\/failed$/],
  ['PUT', /^\/api\/queues\/[^/]+\/[^/]+\/promote$/],
  ['PUT', /^\/api\/queues\/[^/]+\/promote$/],
  ['PUT', /^\/api\/queues\/[^/]+\/clean\/(failed|completed)$/],
];
/** Reads that say more about the server than about the runs: Redis's version, OS and memory; clients. */
const REFUSED_READS = [/^\/api\/redis\/stats$/, /^\/api\/queues\/[^/]+\/workers$/];
const CLEAN_JOB = /^\/api\/queues\/([^/]+)\/([^/]+)\/clean$/;
const PAUSE = /^\/api\/queues\/track\.([^/]+)\/(pause|resume)$/;

function refuse(res: Response, message: string) {
  res.status(403).json({ error: message });
}

export interface BoardOptions {
  queues: RunQueues;
  control: RunControl;
  allowActions: boolean;
  log?: Logger | undefined;
}

/** bull-board at /queues, behind our guard: what it may do, and what of its answers may be shown. */
export function queueBoard(o: BoardOptions): Router {
  const { queues, allowActions } = o;
  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(QUEUES_BASE);
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: {
      uiConfig: {
        boardTitle: 'braze-import',
        hideDocsLink: true,
        hideRedisDetails: true,
        showWorkers: false,
      },
    },
  });
  const inner = serverAdapter.getRouter() as Express;
  inner.disable('x-powered-by');
  const adapters = new Map<Queue<TrackQueueData>, BullMQAdapter>();
  let synced = 0;
  const sync = async () => {
    // Runs come and go, each with its queue: bull-board is told the current ones before it answers.
    if (Date.now() - synced < 1000) return;
    const list = await queues.current();
    for (const q of adapters.keys()) if (!list.includes(q)) adapters.delete(q);
    for (const q of list) if (!adapters.has(q)) adapters.set(q, createQueueBoardAdapter(q, allowActions));
    board.replaceQueues([...adapters.values()]);
    synced = Date.now();
  };
  const router = Router();
  router.use(async (req: Request, res: Response, next: NextFunction) => {
    const path = req.path;
    await sync();
    if (REFUSED_READS.some((r) => r.test(path))) return refuse(res, 'not shown in this dashboard');
    if (path.startsWith('/api/')) {
      res.set('Cache-Control', 'no-store');
      sanitizeBoardBody(res);
    } else withoutThirdPartyFonts(res);
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      if (!allowActions) return refuse(res, 'read-only: start the dashboard with --allow-actions');
      const pause = PAUSE.exec(path);
      if (pause)
        return routeThroughRun(
          o,
          req,
          res,
          decodeURIComponent(pause[1] ?? ''),
          pause[2] as 'pause' | 'resume',
        );
      const allowed = ALLOWED_WRITES.some(([m, r]) => m === req.method && r.test(path));
      const clean = CLEAN_JOB.exec(path);
      if (!allowed && !clean)
        return refuse(res, 'this action is not available here (it would leave run records untrue)');
      if (clean && !(await removable(decodeURIComponent(clean[1] ?? ''), decodeURIComponent(clean[2] ?? ''))))
        return refuse(
          res,
          'only failed or completed chunks can be removed: a waiting one belongs to a run still counting on it',
        );
    }
    next();
  });
  router.use(inner);

  const removable = async (queueName: string, jobId: string) => {
    const queue = [...adapters.keys()].find((q) => q.name === queueName);
    const state = await queue?.getJobState(jobId);
    return state === 'failed' || state === 'completed';
  };
  return router;
}

async function routeThroughRun(
  o: BoardOptions,
  req: Request,
  res: Response,
  runId: string,
  action: 'pause' | 'resume',
) {
  if (!RUN_ID_PATTERN.test(runId)) return refuse(res, 'not a run queue');
  const result = action === 'pause' ? await pauseRun(o.control, runId) : await resumeRun(o.control, runId);
  if (!result.ok) {
    res.status(result.why === 'unknown' ? 404 : 409).json({ error: result.message });
    return;
  }
  o.log?.info({ runId, action, client: req.ip }, `run ${action} from the queue board`);
  res.status(200).json({});
}
