import type { Command } from 'commander';
import type { Redis } from 'ioredis';
import {
  DEFAULT_DASHBOARD_HOST,
  DEFAULT_DASHBOARD_PORT,
  dashboardFlagsSchema,
  parseDashboardEnv,
} from '../schemas/dashboard.js';
import { loadConfig } from '../src/config.js';
import { isLoopbackHost } from '../src/dashboard/auth.js';
import { runQueues } from '../src/dashboard/run-queues.js';
import type { listenDashboard, RunningDashboard } from '../src/dashboard/server.js';
import { UsageError } from '../src/errors.js';
import { createLogger, type Logger } from '../src/infra/logger.js';
import { closeRedis, connectRedis, createRedis } from '../src/infra/redis.js';
import { createResources, installShutdown } from '../src/infra/resources.js';
import { createRunStore } from '../src/runs/store.js';
import { out, parseFlags, requireRedisUrl } from './common.js';

async function listen(
  app: Parameters<typeof listenDashboard>[0],
  host: string,
  port: number,
): Promise<RunningDashboard> {
  try {
    // Loaded here, not at start-up: express and bull-board are for this command only.
    const { listenDashboard } = await import('../src/dashboard/server.js');
    return await listenDashboard(app, host, port);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL' || code === 'ENOTFOUND') {
      throw new UsageError(`--port/--host: cannot listen on ${host}:${port} (${code})`);
    }
    throw err;
  }
}

/**
 * The dashboard outlives Redis restarts: say once that the connection is gone (BullMQ would
 * otherwise print a stack per retry) and once that it is back.
 */
function reportRedisTrouble(redis: Redis, log: Logger): void {
  let last: string | undefined;
  const onError = (err: Error) => {
    if (err.message === last) return;
    last = err.message;
    log.warn({ err: err.message }, 'Redis connection problem; retrying');
  };
  redis.on('error', onError);
  redis.on('ready', () => {
    if (last !== undefined) log.info('Redis connection back');
    last = undefined;
  });
}

/** Registers `braze-import dashboard`: runs, dead letters, metrics and bull-board (src/dashboard/). */
export function dashboardCommand(program: Command): void {
  program
    .command('dashboard')
    .description(
      'web UI: runs and their progress, dead letters, /metrics, the queues (bull-board at /queues); read-only unless --allow-actions (needs REDIS_URL)',
    )
    .option(
      '--host <host>',
      `interface to listen on (default ${DEFAULT_DASHBOARD_HOST}); any other than loopback needs DASHBOARD_USER and DASHBOARD_PASSWORD`,
    )
    .option('--port <port>', `port to listen on, 0 for any free port (default ${DEFAULT_DASHBOARD_PORT})`)
    .option(
      '--allow-actions',
      'let the UI pause, resume and cancel runs, and retry, promote and remove failed chunks',
    )
    .option(
      '--public-host <name>',
      'a name the dashboard is reached by through a proxy (its Host header); repeatable',
      (value: string, previous: string[] = []) => [...previous, value],
    )
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseFlags(dashboardFlagsSchema, raw);
      // The only reading of the dashboard's variables; src/ receives the parsed credentials.
      const env = parseDashboardEnv(process.env);
      if (!env.ok) throw new UsageError(env.problems);
      const auth = env.auth;
      if (!auth && !isLoopbackHost(flags.host)) {
        throw new UsageError(
          `--host ${flags.host} is reachable from other machines: set DASHBOARD_USER and DASHBOARD_PASSWORD to require a login`,
        );
      }
      const config = loadConfig(process.env);
      const log = createLogger({ ...config.log, secrets: [config.braze.apiKey, auth?.password] });
      const redisUrl = requireRedisUrl(config, 'dashboard');

      const res = createResources();
      let stop = () => {};
      const stopped = new Promise<void>((resolve) => {
        stop = resolve;
      });
      // Signals are handled before the URL is announced: a supervisor may stop us as soon as it reads it.
      const uninstall = installShutdown({
        onGraceful: (signal) => {
          log.info({ signal }, 'dashboard stopping (signal again to force)');
          stop();
        },
        onForce: () => process.exit(130),
        deadlineMs: 10_000,
      });
      res.defer('signals', uninstall);
      try {
        // A long-lived reader: rides out Redis restarts (the "worker" role) once the first connect works.
        const redis = createRedis(redisUrl, 'worker', 'braze-import:dashboard');
        // connectRedis reports a failed first connection in one line; keep ioredis from adding its own.
        const quiet = () => {};
        redis.on('error', quiet);
        await connectRedis(redis, redisUrl);
        redis.off('error', quiet);
        res.defer('redis', () => closeRedis(redis));
        const runs = createRunStore(redis, config.prefix, config.retentionMs);
        const queues = runQueues(redis, config.prefix, runs);
        res.defer('queues', () => queues.close());
        reportRedisTrouble(redis, log);
        const { createDashboardApp } = await import('../src/dashboard/app.js');
        const { createDashboardMetrics } = await import('../src/dashboard/metrics.js');
        const control = { redis, prefix: config.prefix, runs };
        const app = createDashboardApp({
          queues,
          control,
          auth,
          allowActions: flags.allowActions,
          host: flags.host,
          publicHosts: flags.publicHost,
          metrics: createDashboardMetrics(control, config.braze.trackRateLimit),
          log,
          ping: () => redis.ping(),
        });
        const server = await listen(app, flags.host, flags.port);
        res.defer('http server', () => server.close());
        out(`Dashboard on ${server.url}`);
        log.info(
          {
            url: server.url,
            auth: auth !== undefined,
            allowActions: flags.allowActions,
            prefix: config.prefix,
          },
          'dashboard listening',
        );
        if (!isLoopbackHost(flags.host)) {
          // Written whatever the log level: nobody should miss that the password travels in clear.
          process.stderr.write(
            'braze-import: warning: the dashboard speaks plain HTTP: its login and pages cross the network unencrypted; put a TLS proxy in front\n',
          );
        }
        await stopped;
      } finally {
        const errors = await res.closeAll();
        for (const e of errors) log.warn(e.message);
      }
    });
}
