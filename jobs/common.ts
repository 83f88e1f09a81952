import { setFlagsFromString } from 'node:v8';
import type { z } from 'zod';
import { flagProblems } from '../schemas/cli.js';
import { type Config, type ConfigOverrides, loadConfig } from '../src/config.js';
import { UsageError } from '../src/errors.js';
import { createLogger, type Logger } from '../src/infra/logger.js';

/** Parses a command's flags with its schema: every problem at once, exit 2. */
export function parseFlags<S extends z.ZodType>(schema: S, raw: unknown): z.output<S> {
  const parsed = schema.safeParse(raw);
  if (!parsed.success) throw new UsageError(flagProblems(parsed.error));
  return parsed.data;
}

export function setup(flags: ConfigOverrides = {}): {
  config: Config;
  log: Logger;
} {
  const config = loadConfig(process.env, flags);
  const log = createLogger({ ...config.log, secrets: [config.braze.apiKey] });
  return { config, log };
}

/** Commands that read state a run left in Redis need a Redis that outlives one command. */
export function requireRedisUrl(config: Config, what: string): string {
  if (!config.redisUrl) {
    throw new UsageError(
      `${what} needs REDIS_URL: runs without it use a private Redis that is gone when the command ends`,
    );
  }
  return config.redisUrl;
}

export const out = (text: string) => process.stdout.write(`${text}\n`);

/**
 * For the commands that stream data (run, worker, sync, backfill): let the old generation grow to
 * (1 + percent/100) x what survived the last full GC instead of V8's up-to-4x for small heaps. At
 * 150 the producer of a 1M-row run peaked at 175 MB instead of 208 MB with no measurable loss of
 * speed (its live heap is ~30 MB). `run` asks for 50 (RUN_HEAP_GROWING_PERCENT). Read by V8 at every
 * GC, so setting it once the process runs takes effect, in every thread (V8's flags are per process).
 */
export function tuneHeapForStreaming(percent = 150): void {
  setFlagsFromString(`--heap-growing-percent=${percent}`);
}

/**
 * `run`'s old generations (the producer's and the sender thread's) grow by half what survived the
 * last full GC before the next. Their live heaps are ~20 MB each; what they promote is now little
 * (bodies wait for Redis as bytes outside the heap, recent users are typed arrays), but more full
 * GCs still cost CPU, mostly in V8's marking threads. 1M rows against 150, farm-bench pairs: 50
 * gave 195 against 237 MB of peak RSS at 1.08x the CPU (1.03-1.17); 75 gave 210 MB at 1.02x;
 * 25 gave 190 MB at 1.11x. 50 is the least that keeps `run` under 200 MB (ARCHITECTURE.md).
 */
export const RUN_HEAP_GROWING_PERCENT = 50;

/**
 * A forced stop: the process ends within `ms` whatever is still pending (a Redis that went away, a
 * request that never answers), with `code`.
 */
export function exitAfter(ms: number, code: number): void {
  setTimeout(() => process.exit(code), ms).unref();
}
