import type { Command } from 'commander';
import { workerFlagsSchema } from '../schemas/cli.js';
import { metricsFlagsSchema, notifyTarget } from '../schemas/observe.js';
import { type Config, requireBraze } from '../src/config.js';
import { readRunKind } from '../src/control/run-kind.js';
import { describeError, UsageError } from '../src/errors.js';
import { closeRedis, createRedis } from '../src/infra/redis.js';
import { installShutdown } from '../src/infra/resources.js';
import { notifyRunEnd } from '../src/notify/notify.js';
import { describeDestination, destinationOf } from '../src/runs/destination.js';
import type { Sender } from '../src/send/sender.js';
import type { ScheduleWorker } from '../src/sync/schedule-worker.js';
import { exitAfter, parseFlags, requireRedisUrl, setup, tuneHeapForStreaming } from './common.js';
import { createSyncLauncher } from './sync-launcher.js';

/**
 * A forced stop ends the process within this long, whatever Redis and Braze are doing: enough for
 * a close that can still happen, nothing to wait for otherwise (a worker records nothing on its way
 * out; its chunks in flight go to another worker when their locks lapse).
 */
const FORCE_EXIT_MS = 500;

export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      "send the queued chunks of enqueue-only runs to Braze and run this destination's schedules until SIGTERM/SIGINT; run as many as you like (needs REDIS_URL)",
    )
    .option(
      '--concurrency <n>',
      'requests in flight in this process (default: sized to the rate limit and the latency Braze answers with)',
    )
    .option('--api-key-file <file>', 'read the Braze API key from FILE instead of BRAZE_API_KEY')
    .option('--allow-endpoint <url>', 'accept BRAZE_REST_ENDPOINT although it is not a Braze REST host')
    .option('--redact-ids', 'hash user identifiers in logs (same as BRAZE_IMPORT_REDACT_IDS=true)')
    .option('--metrics-port <port>', 'serve /metrics (Prometheus) and /healthz on this port')
    .option('--metrics-host <host>', 'interface for --metrics-port (default 127.0.0.1)')
    .option(
      '--notify <url>',
      'POST the summary (JSON, Slack-compatible) of each enqueue-only run this worker finds completed (or BRAZE_IMPORT_NOTIFY_URL)',
    )
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseFlags(workerFlagsSchema, raw);
      const observe = parseFlags(metricsFlagsSchema, raw);
      const notify = notifyTarget(raw['notify'], process.env);
      if (!notify.ok) throw new UsageError(notify.problem);
      const notifyUrl = notify.url;
      tuneHeapForStreaming();
      const { config, log } = setup(flags);
      const braze = requireBraze(config);
      const redisUrl = requireRedisUrl(config, 'worker');
      const dest = destinationOf(braze.endpoint, braze.apiKey);
      // Signals are handled from the first moment: a supervisor may stop a worker still connecting.
      let sender: Sender | undefined;
      let schedules: ScheduleWorker | undefined;
      let done = () => {};
      const stopped = new Promise<void>((resolve) => {
        done = resolve;
      });
      let halt: string | undefined;
      const uninstall = installShutdown({
        onGraceful: (signal) => {
          log.info({ signal }, 'draining: finishing requests in flight (signal again to force)');
          done();
        },
        onForce: (why) => {
          log.warn({ why }, 'forcing shutdown');
          // Chunks in flight keep their locks and go to another worker once those lapse.
          if (schedules) void schedules.close(true);
          if (sender) void sender.close(true);
          exitAfter(FORCE_EXIT_MS, 130);
        },
        deadlineMs: config.shutdownMs,
      });
      let metrics: Awaited<ReturnType<typeof startMetrics>> | undefined;
      try {
        metrics =
          observe.metricsPort === undefined
            ? undefined
            : await startMetrics(
                config,
                redisUrl,
                observe.metricsHost,
                observe.metricsPort,
                () => sender !== undefined && halt === undefined,
              );
        if (metrics) log.info({ url: metrics.server.url }, 'metrics served');
        const { startSender } = await import('../src/send/sender.js');
        sender = await startSender({
          config,
          log,
          redisUrl,
          braze,
          concurrency: flags.concurrency,
          scope: 'fleet',
          metrics: metrics?.send,
          // One worker of the destination takes a completed run off its list, and posts its summary.
          onRunEnd: notifyUrl ? (summary) => void notifyRunEnd(notifyUrl, summary, log) : undefined,
          onHalt: (runId, message, status) => {
            if (halt !== undefined || (status !== 401 && status !== 403)) return;
            // A key Braze refuses fails every run of this destination: stop sending with it at all.
            halt = `Braze refused this worker's API key (${status}) while sending run ${runId}: ${message}`;
            log.error({ runId, status }, 'this worker stops: fix the key and start it again');
            done();
          },
        });
        try {
          // Schedules of this destination fire here (any worker of it may take a firing).
          const { startScheduleWorker } = await import('../src/sync/schedule-worker.js');
          schedules = await startScheduleWorker({
            config,
            log,
            redisUrl,
            destId: dest.id,
            launcher: createSyncLauncher({ config, log, redisUrl, braze }),
          });
        } catch (err) {
          await sender.close();
          throw err;
        }
        log.info(
          {
            concurrency: flags.concurrency,
            destination: describeDestination(dest),
            limits: config.braze.trackRateLimits,
            rateGroup: config.braze.rateGroup ?? dest.id,
          },
          'worker started',
        );
        await stopped;
        // In reverse order of starting: a sync a firing runs may still need the sender.
        await schedules.close();
        await sender.close();
        log.info(sender.tally(), 'worker stopped');
        if (halt) process.exitCode = 1;
      } finally {
        await metrics?.close();
        uninstall();
      }
    });
}

/**
 * The worker's /metrics and /healthz (healthy while its sender runs). Run kinds are read from the
 * run records over a connection of its own, once per run.
 */
async function startMetrics(
  config: Config,
  redisUrl: string,
  host: string,
  port: number,
  healthy: () => boolean,
) {
  const { createSendMetrics } = await import('../src/infra/metrics.js');
  const { serveMetrics } = await import('../src/infra/metrics-server.js');
  const redis = createRedis(redisUrl, 'worker', 'braze-import:metrics');
  const send = createSendMetrics({
    limit: config.braze.trackRateLimit,
    kindOf: (runId) => readRunKind(redis, config.prefix, runId),
    processMetrics: true,
  });
  try {
    const server = await serveMetrics(send.registry, host, port, healthy);
    return { send, server, close: async () => Promise.all([server.close(), closeRedis(redis)]) };
  } catch (err) {
    await closeRedis(redis);
    const code = (err as NodeJS.ErrnoException).code;
    throw new UsageError(
      `--metrics-port/--metrics-host: cannot listen on ${host}:${port} (${code ?? describeError(err)})`,
    );
  }
}
