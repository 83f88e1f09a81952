import { createBullBoard } from '@bull-board/api';
import { BullMQAdapter } from '@bull-board/api/bullMQAdapter';
import { ExpressAdapter } from '@bull-board/express';
import type { Queue } from 'bullmq';
import express, { type ErrorRequestHandler, type Express, type RequestHandler } from 'express';
import { type DashboardAuth, runsQuerySchema } from '../../schemas/dashboard.js';
import type { TrackJobData } from '../../schemas/track.js';
import type { Logger } from '../infra/logger.js';
import { RUN_ID_PATTERN } from '../runs/ids.js';
import type { RunStore } from '../runs/store.js';
import { summarize } from '../runs/summary.js';
import { basicAuth } from './auth.js';
import { summarizeJobData, summarizeProgress, summarizeReturnValue } from './job-summary.js';
import type { RunQueues } from './run-queues.js';

export interface DashboardAppOptions {
  /** The run queues to show in bull-board, looked up again as runs come and go. */
  queues: RunQueues;
  runs: RunStore;
  /** When set, every route but /healthz requires these credentials (HTTP Basic). */
  auth?: DashboardAuth | undefined;
  /** Retry, remove, promote, clean, pause... from the UI. Off: bull-board's read-only mode. */
  allowActions: boolean;
  log?: Logger | undefined;
  /** Health probe for /healthz: a PING on the Redis connection the queue and runs use. */
  ping: () => Promise<unknown>;
  /** How long /healthz waits for the probe before answering 503. */
  healthTimeoutMs?: number;
}

/** Where the UI lives; the JSON API bull-board serves is under `${UI_BASE}api/`. */
export const UI_BASE = '/';

/** Rejects when `promise` takes longer than `ms`; the timer never keeps the process alive. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/** The queue as bull-board sees it: counts and job metadata, never the user records in a job. */
export function createQueueBoardAdapter(queue: Queue<TrackJobData>, allowActions: boolean): BullMQAdapter {
  const adapter = new BullMQAdapter(queue, {
    readOnlyMode: !allowActions,
    allowRetries: allowActions,
    description: 'Chunks waiting for, or sent to, Braze /users/track (job data shown as a summary only)',
  });
  adapter.setFormatter('data', summarizeJobData);
  adapter.setFormatter('returnValue', summarizeReturnValue);
  adapter.setFormatter('progress', summarizeProgress);
  return adapter;
}

/**
 * The UI edits or duplicates a job from the data it was shown; here that is a summary, and saving
 * it would replace a chunk's body with it. These two routes stay closed even with --allow-actions.
 */
const refuseDataEdits: RequestHandler = (_req, res) => {
  res.status(403).json({
    error: 'job data is hidden in this dashboard, so jobs cannot be edited or added from it',
  });
};

const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};

/**
 * bull-board over the track queue at `/`, recent runs at `/api/runs`, and `/healthz`. With `auth`
 * every route but `/healthz` needs the credentials.
 */
export function createDashboardApp(options: DashboardAppOptions): Express {
  const { queues, runs, auth, allowActions, log, ping } = options;
  const healthTimeoutMs = options.healthTimeoutMs ?? 2000;

  const app = express();
  app.disable('x-powered-by');

  app.get('/healthz', async (_req, res) => {
    res.set('Cache-Control', 'no-store');
    try {
      await withTimeout(ping(), healthTimeoutMs);
      res.json({ ok: true });
    } catch (err) {
      log?.warn({ err: (err as Error).message }, 'health check: Redis did not answer');
      res.status(503).json({ ok: false, error: 'Redis did not answer' });
    }
  });

  if (auth) app.use(basicAuth(auth));
  app.use('/api', noStore);

  app.get('/api/runs', async (req, res) => {
    const query = runsQuerySchema.safeParse(req.query);
    if (!query.success) {
      res.status(400).json({ error: query.error.issues.map((i) => i.message).join('; ') });
      return;
    }
    const ids = await runs.list(query.data.limit);
    const records = await Promise.all(ids.map((id) => runs.get(id)));
    const now = Date.now();
    res.json({ runs: records.filter((r) => r !== undefined).map((r) => summarize(r, now)) });
  });

  app.get('/api/runs/:id', async (req, res) => {
    const id = req.params.id;
    const run = RUN_ID_PATTERN.test(id) ? await runs.get(id) : undefined;
    if (!run) {
      res.status(404).json({ error: `no run ${id} (runs are kept for the retention period)` });
      return;
    }
    res.json(summarize(run));
  });

  app.post('/api/queues/:queueName/add', refuseDataEdits);
  app.patch('/api/queues/:queueName/:jobId/update-data', refuseDataEdits);

  const serverAdapter = new ExpressAdapter();
  serverAdapter.setBasePath(UI_BASE);
  const board = createBullBoard({
    queues: [],
    serverAdapter,
    options: { uiConfig: { boardTitle: 'braze-import', hideDocsLink: true } },
  });
  // Runs come and go, each with its queue: bull-board is told the current ones before it answers.
  const adapters = new Map<Queue<TrackJobData>, BullMQAdapter>();
  let synced = 0;
  app.use(UI_BASE, async (_req, _res, next) => {
    try {
      if (Date.now() - synced > 1000) {
        const list = await queues.current();
        for (const q of adapters.keys()) if (!list.includes(q)) adapters.delete(q);
        for (const q of list) if (!adapters.has(q)) adapters.set(q, createQueueBoardAdapter(q, allowActions));
        board.replaceQueues([...adapters.values()]);
        synced = Date.now();
      }
      next();
    } catch (err) {
      next(err);
    }
  });
  app.use(UI_BASE, serverAdapter.getRouter() as Express);

  app.use('/api', (_req, res) => {
    res.status(404).json({ error: 'not found' });
  });

  const onError: ErrorRequestHandler = (err: unknown, req, res, next) => {
    if (res.headersSent) {
      next(err);
      return;
    }
    log?.error(
      { err: (err as Error).message, method: req.method, path: req.path },
      'dashboard request failed',
    );
    res.status(500).json({ error: 'internal error' });
  };
  app.use(onError);
  return app;
}
