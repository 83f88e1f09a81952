import type { Command } from 'commander';
import { workerFlagsSchema } from '../schemas/cli.js';
import { requireBraze } from '../src/config.js';
import { installShutdown } from '../src/infra/resources.js';
import { gateFor } from '../src/send/limiter.js';
import type { Sender } from '../src/send/sender.js';
import { parseFlags, requireRedisUrl, setup, tuneHeapForStreaming } from './common.js';

export function workerCommand(program: Command): void {
  program
    .command('worker')
    .description(
      'send queued chunks to Braze until SIGTERM/SIGINT; run as many as you like (needs REDIS_URL)',
    )
    .option('--concurrency <n>', 'requests in flight in this process', '32')
    .option('--api-key-file <file>', 'read the Braze API key from FILE instead of BRAZE_API_KEY')
    .option('--allow-endpoint <url>', 'accept BRAZE_REST_ENDPOINT although it is not a Braze REST host')
    .option('--redact-ids', 'hash user identifiers in logs (same as BRAZE_IMPORT_REDACT_IDS=true)')
    .action(async (raw: Record<string, unknown>) => {
      const flags = parseFlags(workerFlagsSchema, raw);
      tuneHeapForStreaming();
      const { config, log } = setup(flags);
      const braze = requireBraze(config);
      const redisUrl = requireRedisUrl(config, 'worker');
      // Signals are handled from the first moment: a supervisor may stop a worker still connecting.
      let force: boolean | undefined;
      let sender: Sender | undefined;
      let wake = () => {};
      const uninstall = installShutdown({
        onGraceful: (signal) => {
          log.info({ signal }, 'draining: finishing requests in flight (signal again to force)');
          force = false;
          wake();
        },
        onForce: (why) => {
          log.warn({ why }, 'forcing shutdown');
          force = true;
          if (sender) void sender.close(true);
          wake();
        },
        deadlineMs: 30_000,
      });
      try {
        const { startSender } = await import('../src/send/sender.js');
        sender = await startSender({ config, log, redisUrl, braze, concurrency: flags.concurrency });
        log.info(
          { concurrency: flags.concurrency, gate: gateFor(config.braze.trackRateLimit) },
          'worker started',
        );
        if (force === undefined) {
          await new Promise<void>((resolve) => {
            wake = resolve;
          });
        }
        await sender.close(force);
        log.info(sender.tally(), 'worker stopped');
      } finally {
        uninstall();
      }
    });
}
