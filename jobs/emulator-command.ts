import type { Command } from 'commander';
import type { ZodError } from 'zod';
import { emulatorFlagsSchema } from '../schemas/emulator.js';
import type { EmulatorOptionsInput } from '../src/emulator/index.js';
import { DEFAULT_API_KEY, DEFAULT_PORT } from '../src/emulator/options.js';
import { UsageError } from '../src/errors.js';

const collect = (value: string, previous: string[] = []) => [...previous, value];

/** `rateLimit` -> `--rate-limit`, `burst429Every` -> `--burst-429-every`. */
function flagName(key: PropertyKey | undefined): string {
  if (typeof key !== 'string') return 'emulator';
  const kebab = key.replace(/([a-z0-9])([A-Z])/g, '$1-$2').replace(/([a-z])(\d)/g, '$1-$2');
  return `--${kebab.toLowerCase()}`;
}

function issueLines(error: ZodError): string[] {
  return error.issues.map((issue) => {
    if (issue.code === 'unrecognized_keys')
      return `unknown option(s): ${issue.keys.map(flagName).join(', ')}`;
    return `${flagName(issue.path[0])}: ${issue.message}`;
  });
}

/** Validates raw commander flags; every problem at once, as a UsageError (exit 2). */
export function parseEmulatorFlags(raw: Record<string, unknown>): EmulatorOptionsInput {
  const parsed = emulatorFlagsSchema.safeParse(raw);
  if (!parsed.success) throw new UsageError(issueLines(parsed.error));
  return parsed.data;
}

/** Resolves on the first SIGINT/SIGTERM; `dispose` removes the handlers if we give up before that. */
function onStopSignal(): { stopped: Promise<NodeJS.Signals>; dispose: () => void } {
  let dispose = () => {};
  const stopped = new Promise<NodeJS.Signals>((resolve) => {
    const onSignal = (signal: NodeJS.Signals) => {
      dispose();
      resolve(signal);
    };
    dispose = () => {
      process.off('SIGINT', onSignal);
      process.off('SIGTERM', onSignal);
    };
    process.on('SIGINT', onSignal);
    process.on('SIGTERM', onSignal);
  });
  return { stopped, dispose };
}

async function listen(input: EmulatorOptionsInput) {
  try {
    // Loaded here, not at start-up: other commands do not need the emulator.
    const { startEmulator } = await import('../src/emulator/index.js');
    return await startEmulator(input);
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE' || code === 'EACCES' || code === 'EADDRNOTAVAIL') {
      throw new UsageError(
        `--port/--host: cannot listen on ${input.host ?? '127.0.0.1'}:${input.port ?? DEFAULT_PORT} (${code})`,
      );
    }
    throw err;
  }
}

/** Registers `braze-import emulator`: a local Braze /users/track look-alike (see src/emulator). */
export function emulatorCommand(program: Command): void {
  program
    .command('emulator')
    .description(
      'run a local Braze REST emulator (/users/track and friends) with rate limits and fault injection',
    )
    .option('--host <host>', 'interface to listen on (default 127.0.0.1)')
    .option('--port <port>', `port to listen on, 0 for any free port (default ${DEFAULT_PORT})`)
    .option('--api-key <key>', `API key clients must send as Bearer (default ${DEFAULT_API_KEY})`)
    .option(
      '--rate-limit <bucket=count/duration>',
      'override a bucket, repeatable: track=3000/3s, bulk=50/1s (/users/track/bulk), users=20000/1m, external-ids, subscription, export-ids, default; BUCKET=off disables',
      collect,
    )
    .option(
      '--window <kind>',
      'rate-limit window: sliding (strict) or fixed (clock-aligned) (default sliding)',
    )
    .option('--reset-header <kind>', 'X-RateLimit-Reset as epoch seconds or delta seconds (default epoch)')
    .option('--max-objects <n>', 'objects per /users/track request across all arrays (default 75)')
    .option('--legacy-per-array', 'apply --max-objects to each array separately (legacy contracts)')
    .option(
      '--max-body-bytes <n>',
      'largest accepted body in bytes, else 413 (all but /users/track/bulk) (default 4194304)',
    )
    .option(
      '--bulk-max-objects <n>',
      'objects per /users/track/bulk request across all arrays (default 1000)',
    )
    .option(
      '--bulk-max-objects-per-user <n>',
      'objects for one user profile in a /users/track/bulk request, else 400 (default 100)',
    )
    .option(
      '--bulk-max-body-bytes <n>',
      'largest /users/track/bulk body in bytes, else 400 (default 2097152)',
    )
    .option('--store <kind>', 'memory (keep profiles) or none (validate only, fastest) (default memory)')
    .option('--seed <n>', 'seed for fault injection dice (default 1)')
    .option(
      '--fault-buckets <list>',
      'rate-limit buckets whose requests meet the faults below, e.g. bulk or track,bulk (default all)',
    )
    .option('--fail-rate <p>', 'probability of a 5xx answer; the body is not applied (default 0)')
    .option('--fail-statuses <list>', 'statuses used by --fail-rate (default 500,502,503,504)')
    .option('--reset-rate <p>', 'probability of a connection reset instead of an answer (default 0)')
    .option('--reset-mode <when>', 'reset before or after applying the body (default before)')
    .option('--latency-ms <n>', 'delay added to every response (default 0)')
    .option(
      '--latency-jitter-ms <n>',
      'each response waits --latency-ms plus a uniform -N..+N ms, never below 0 (default 0)',
    )
    .option(
      '--arrival-jitter-ms <n>',
      'count each request against the rate limit a uniform 0..N ms after it arrives, as behind a load balancer (default 0)',
    )
    .option('--slow-rate <p>', 'probability of an extra --slow-ms delay; the body is applied (default 0)')
    .option('--slow-ms <n>', 'extra delay of a slow response, e.g. beyond a client timeout (default 0)')
    .option('--burst-429-every <n>', 'every Nth request starts a burst of injected 429s (default 0: never)')
    .option('--burst-429-length <n>', 'injected 429s per burst (default 1)')
    .option(
      '--key <KEY=permissions>',
      'another API key and the permissions it holds, e.g. k2=users.track,users.track.bulk (repeatable)',
      collect,
    )
    .option('--no-legacy-api-key', 'refuse api_key in the body or query (401) instead of accepting it')
    .option(
      '--headers-429 <mode>',
      'what a 429 carries: standard, retry-after (MAU pages) or none (default standard)',
    )
    .option(
      '--reorder-ms <n>',
      'answer /users/track at once and apply each request 0..N ms later, as Braze processes asynchronously (default 0: in order)',
    )
    .option('--queued-rate <p>', 'probability of 202 {"message":"queued"}; the body is applied (default 0)')
    .action(async (raw: Record<string, unknown>) => {
      const input = parseEmulatorFlags(raw);
      // Handle signals before announcing the URL: a supervisor may stop us as soon as it reads the line.
      const { stopped, dispose } = onStopSignal();
      const emulator = await listen(input).catch((err: unknown) => {
        dispose();
        throw err;
      });
      process.stdout.write(`Braze emulator listening on ${emulator.url}\n`);
      if (raw['apiKey'] === undefined) {
        process.stderr.write(
          `No --api-key given: clients must send "Authorization: Bearer ${DEFAULT_API_KEY}"\n`,
        );
      }
      await stopped;
      await emulator.close();
    });
}
