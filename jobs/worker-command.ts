import type { Command } from 'commander';
import { workerFlagsSchema } from '../schemas/cli.js';
import { requireBraze } from '../src/config.js';
import { createTrackQueue } from '../src/infra/queues.js';
import { checkEvictionPolicy, connectRedis, createRedis } from '../src/infra/redis.js';
import { createResources, installShutdown } from '../src/infra/resources.js';
import { createRunStore } from '../src/runs/store.js';
import { createTrackClient } from '../src/send/http.js';
import { limiterFor } from '../src/send/limiter.js';
import { createChunkProcessor } from '../src/send/processor.js';
import { createTrackWorker } from '../src/send/worker.js';
import { parseFlags, requireRedisUrl, setup } from './common.js';

export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'send queued chunks to Braze until SIGTERM/SIGINT; run as many as you like (needs REDIS_URL)',
    )
    .option('--concurrency <n>', 'requests in flight in this process', '32')
    .option('--api-key-file <file>', 'read the Braze API key from FILE instead of BRAZE_API_KEY')
    .option('--allow-endpoint <url>', 'accept BRAZE_REST_ENDPOINT although it is not a Braze REST host')
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseFlags(workerFlagsSchema, raw);
      const { config, log } = setup(flags);
      const braze = requireBraze(config);
      const redisUrl = requireRedisUrl(config, 'worker');
      const res = createResources();
      // Workers wait through Redis outages, but the first connection must work: fail with one line.
      const stateRedis = await connectRedis(
        createRedis(redisUrl, 'worker', 'braze-import:worker-state'),
        redisUrl,
      );
      res.defer('state redis', () => stateRedis.quit());
      await checkEvictionPolicy(stateRedis, log);
      const queue = createTrackQueue(stateRedis, config.prefix);
      res.defer('queue', () => queue.close());
      const client = createTrackClient({
        ...braze,
        connections: flags.concurrency,
        timeoutMs: config.braze.requestTimeoutMs,
      });
      res.defer('http pool', () => client.close());
      const workerRedis = createRedis(redisUrl, 'worker', 'braze-import:worker');
      res.defer('worker redis', () => workerRedis.quit());
      const limiter = limiterFor(config.braze.trackRateLimit);
      const worker = createTrackWorker({
        connection: workerRedis,
        queue,
        prefix: config.prefix,
        concurrency: flags.concurrency,
        limiter,
        process: createChunkProcessor({ client }),
        runs: createRunStore(stateRedis, config.prefix, config.retentionMs),
        log,
        retentionMs: config.retentionMs,
      });
      const closed = new Promise<void>((resolve) => {
        const uninstall = installShutdown({
          onGraceful: (signal) => {
            log.info({ signal }, 'draining: finishing requests in flight (signal again to force)');
            worker.close().then(resolve, resolve);
          },
          onForce: (why) => {
            log.warn({ why }, 'forcing shutdown');
            worker.close(true).then(resolve, resolve);
          },
          deadlineMs: 30_000,
        });
        res.defer('signals', uninstall);
      });
      log.info({ concurrency: flags.concurrency, limiter }, 'worker started');
      void worker.run();
      await closed;
      const errors = await res.closeAll();
      for (const e of errors) log.warn(e.message);
      log.info('worker stopped');
    });
}
