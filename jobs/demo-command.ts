import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import type { Command } from 'commander';
import { runImport } from '../src/import/import.js';
import { openInput } from '../src/import/input.js';
import { provideRedis } from '../src/infra/redis.js';
import { createResources, installShutdown } from '../src/infra/resources.js';
import { exitCodeFor } from '../src/runs/summary.js';
import { out, setup } from './common.js';
import { report, saveDeadLetters } from './run-command.js';
import { startThreadSender } from './thread-sender.js';

export const SAMPLE = fileURLToPath(new URL('../../samples/demo-users.jsonl', import.meta.url));

/**
 * The main job on the embedded defaults: a private Redis (unless REDIS_URL), the Braze emulator in
 * this process, and the bundled sample. Nothing leaves the machine.
 */
export function demoCommand(program: Command): void {
  program
    .command('demo')
    .description(
      'import the bundled sample into a built-in Braze emulator, with a private Redis; sends nothing out',
    )
    .option('--file <file>', 'import this file instead of the bundled sample')
    .option('--json', 'print the summary as one JSON object on stdout')
    .option('--redact-ids', 'hash user identifiers in logs (same as BRAZE_IMPORT_REDACT_IDS=true)')
    .action(async (flags: { file?: string; json?: boolean; redactIds?: boolean }) => {
      const base = setup({ redactIds: flags.redactIds });
      // The demo's output is its summary; progress logs only when asked for with LOG_LEVEL.
      const config = base.config.log.explicit
        ? base.config
        : { ...base.config, log: { ...base.config.log, level: 'warn' } };
      const log = base.config.log.explicit ? base.log : base.log.child({}, { level: 'warn' });
      const res = createResources();
      let stopping = false;
      res.defer(
        'signals',
        installShutdown({
          onGraceful: () => (stopping = true),
          onForce: () => process.exit(130),
          deadlineMs: 15_000,
        }),
      );
      try {
        const redis = await provideRedis(config.redisUrl);
        res.defer('redis', () => redis.release());
        const apiKey = `demo-${randomBytes(12).toString('hex')}`;
        const { startEmulator } = await import('../src/emulator/index.js');
        const emulator = await startEmulator({ port: 0, apiKey });
        res.defer('emulator', () => emulator.close());
        if (!flags.json)
          out(
            `Braze emulator on ${emulator.url}; Redis ${redis.private ? '(private, temporary)' : 'from REDIS_URL'}`,
          );
        const file = flags.file ?? SAMPLE;
        const input = await openInput(file, {}, config);
        let exported: string | undefined;
        const summary = await runImport(input, {
          config,
          log,
          redisUrl: redis.url,
          braze: { endpoint: emulator.url, apiKey },
          concurrency: 16,
          // The demo is for seeing an import happen, every time.
          force: true,
          stopped: () => stopping,
          startSender: startThreadSender,
          beforeClose: async ({ runs, runId }) => {
            if (redis.private) exported = await saveDeadLetters(runs, runId, input.format, input.source);
          },
        });
        report(summary, flags.json ?? false, exported);
        if (!flags.json) {
          const s = emulator.stats();
          out(
            `Emulator saw ${s.requests.total} requests, ${s.objects.accepted} objects accepted, ` +
              `${s.rateLimited} rate-limited; busiest 3 s window: ${s.maxTrackRequestsIn3s} requests`,
          );
        }
        process.exitCode = exitCodeFor(summary.status) === 3 ? 0 : exitCodeFor(summary.status);
      } finally {
        await res.closeAll();
      }
    });
}
