import express, { type ErrorRequestHandler, type Express } from 'express';
import type { DashboardAuth } from '../../schemas/dashboard.js';
import type { RunControl } from '../control/run-actions.js';
import type { Logger } from '../infra/logger.js';
import { basicAuth } from './auth.js';
import { QUEUES_BASE, queueBoard } from './board.js';
import type { DashboardMetrics } from './metrics.js';
import { dashboardRoutes } from './routes.js';
import type { RunQueues } from './run-queues.js';
import { createRunsData } from './runs-data.js';
import { allowedHosts, hostGuard, noStore, originGuard, securityHeaders } from './security.js';

export interface DashboardAppOptions {
  /** The run queues to show in bull-board, looked up again as runs come and go. */
  queues: RunQueues;
  /** Redis, key prefix and run store: what pages read and actions go through. */
  control: RunControl;
  /** When set, every route but /healthz requires these credentials (HTTP Basic). */
  auth?: DashboardAuth | undefined;
  /** Pause, resume and cancel runs; retry, promote and remove failed chunks in bull-board. */
  allowActions: boolean;
  /** The address the server is bound to, and names it is reached by through a proxy: the Host allow-list. */
  host: string;
  publicHosts?: readonly string[];
  metrics?: DashboardMetrics | undefined;
  log?: Logger | undefined;
  /** Health probe for /healthz: a PING on the Redis connection the queue and runs use. */
  ping: () => Promise<unknown>;
  /** How long /healthz waits for the probe before answering 503. */
  healthTimeoutMs?: number;
  /** The clock of the login backoff (tests). */
  now?: () => number;
}

/** Rejects when `promise` takes longer than `ms`; the timer never keeps the process alive. */
function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

/**
 * The dashboard: runs at `/`, a run at `/runs/<id>`, their JSON under `/api/runs`, `/metrics`,
 * bull-board at `/queues`, `/healthz`. Every response carries the security headers; requests for a
 * host it does not serve and cross-site writes are refused before anything else; with `auth`, every
 * route but `/healthz` needs the credentials.
 */
export function createDashboardApp(o: DashboardAppOptions): Express {
  const { control, auth, allowActions, log, ping } = o;
  const healthTimeoutMs = o.healthTimeoutMs ?? 2000;

  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(securityHeaders());
  app.use(hostGuard(allowedHosts(o.host, o.publicHosts), log));

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

  app.use(originGuard(log));
  if (auth) app.use(basicAuth(auth, { log, now: o.now }));

  const metrics = o.metrics;
  if (metrics) {
    app.get('/metrics', noStore, async (_req, res) => {
      await metrics.update();
      res.type(metrics.registry.contentType).send(await metrics.registry.metrics());
    });
  }

  app.use(QUEUES_BASE, queueBoard({ queues: o.queues, control, allowActions, log }));
  app.use((req, res, next) => (req.path.startsWith('/static/') ? next() : noStore(req, res, next)));
  app.use(dashboardRoutes({ control, data: createRunsData(control), allowActions, log }));

  app.use('/api', (_req, res) => {
    res.status(404).json({ error: 'not found' });
  });
  app.use((_req, res) => {
    res.status(404).type('text').send('not found\n');
  });

  const onError: ErrorRequestHandler = (err: unknown, req, res, _next) => {
    log?.error(
      { err: (err as Error).message, method: req.method, path: req.path.slice(0, 200) },
      'dashboard request failed',
    );
    // Never a stack or a path: the default handler would print one.
    if (res.headersSent) res.destroy();
    else res.status(500).json({ error: 'internal error' });
  };
  app.use(onError);
  return app;
}
