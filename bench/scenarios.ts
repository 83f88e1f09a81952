/**
 * What `npm run bench` measures, in this order, each import on a fresh Redis and emulator:
 *   (a)    csv-parse alone over the file (rows/s and CPU seconds);
 *   (b)    `run` unthrottled (rows/s; CPU of the run process + Redis, for the CPU ratio; peak RSS);
 *   (c0)   `run` against the emulator enforcing 3,000 requests per 3 s, answers at once;
 *   (c150) the same with answers after 150 +/- 50 ms: a far Braze;
 *   (c300) the same with answers after 300 +/- 100 ms: a farther one (no goal; what lanes and the
 *          in-flight cap allow);
 *   (j)    a 600 per 3 s limit, both sides, with 250 ms of arrival jitter at the emulator, on a
 *          smaller file (it runs at a fifth of the rate);
 *   (d)    the producer alone (`run --enqueue-only`) while one `braze-import worker` sends;
 *   (s)    nightly syncs (issue 13): a first sync, a sync of the file with 1% changed, another
 *          while a backfill sends; the change record's memory (sync-run.ts);
 *   (bb)   a backfill through /users/track/bulk.
 * No scenario passes `--concurrency`: each measures what a user gets by default.
 */
import { join } from 'node:path';
import { emulatorFlagsSchema } from '../schemas/emulator.js';
import { benchFile, ROOT } from './data-file.js';
import { type ImportResult, type ImportSpec, importRun } from './import-run.js';
import { runMeasured } from './measure.js';
import { type BulkResult, bulkBackfill, type SyncResult, syncRun } from './sync-run.js';

export const SCENARIOS = ['a', 'b', 'c0', 'c150', 'c300', 'j', 'd', 's', 'bb'] as const;
export type ScenarioName = (typeof SCENARIOS)[number];

export interface CsvParseResult {
  rows: number;
  rowsPerSec: number;
  /** CPU seconds of the whole process (Node's start included, as for `run`). */
  cpuS: number;
}

export type Outcome<T> = { ok: true; value: T; tookS: number } | { ok: false; error: string; tookS: number };

export interface BenchResults {
  a?: Outcome<CsvParseResult>;
  b?: Outcome<ImportResult>;
  c0?: Outcome<ImportResult>;
  c150?: Outcome<ImportResult>;
  c300?: Outcome<ImportResult>;
  j?: Outcome<ImportResult>;
  d?: Outcome<ImportResult>;
  s?: Outcome<SyncResult>;
  bb?: Outcome<BulkResult>;
}

export interface Limit {
  text: string;
  max: number;
  windowMs: number;
}

export interface BenchPlan {
  rows: number;
  jitterRows: number;
  /** The limit of (c0) and (c150) (BENCH_TRACK_LIMIT, 3000/3s by default) and of (j). */
  limit: Limit;
  jitterLimit: Limit;
  only: ReadonlySet<ScenarioName>;
}

/** Unthrottled runs: a client limit the pipeline cannot reach, and none at the emulator. */
const UNLIMITED = '1000000/1s';
const DEADLINE_MS = 10 * 60_000;

/** `3000/3s` -> its count and window, read the way the emulator reads its --rate-limit flag. */
export function readLimit(text: string): Limit {
  const parsed = emulatorFlagsSchema.safeParse({ rateLimit: [`track=${text}`] });
  const track = parsed.success ? parsed.data.rateLimits?.track : undefined;
  if (!track) throw new Error(`expected a limit such as 3000/3s, got "${text}"`);
  return { text, max: track.limit, windowMs: track.windowMs };
}

async function csvParseAlone(file: string): Promise<CsvParseResult> {
  const script = join(ROOT, 'dist/bench/csv-parse-alone.js');
  const run = await runMeasured([process.execPath, script, file], process.env, DEADLINE_MS);
  if (run.code !== 0) throw new Error(`csv-parse alone exited ${run.code}`);
  const { rows, ms } = JSON.parse(run.stdout) as { rows: number; ms: number };
  return { rows, rowsPerSec: rows / (ms / 1000), cpuS: run.cpuS };
}

async function measure<T>(name: ScenarioName, work: () => Promise<T>): Promise<Outcome<T>> {
  const started = performance.now();
  const tookS = () => (performance.now() - started) / 1000;
  try {
    const value = await work();
    process.stdout.write(`  (${name}) done in ${tookS().toFixed(1)} s\n`);
    return { ok: true, value, tookS: tookS() };
  } catch (err) {
    process.stdout.write(`  (${name}) FAILED after ${tookS().toFixed(1)} s: ${(err as Error).message}\n`);
    return { ok: false, error: (err as Error).message, tookS: tookS() };
  }
}

export async function runScenarios(plan: BenchPlan): Promise<BenchResults> {
  const file = await benchFile(plan.rows);
  const jitterFile = await benchFile(plan.jitterRows);
  const limited = (limit: Limit, extra: string[] = []): ImportSpec => ({
    file,
    rows: plan.rows,
    emulator: ['--rate-limit', `track=${limit.text}`, ...extra],
    clientLimit: limit.text,
  });
  const specs: Record<Exclude<ScenarioName, 'a' | 's' | 'bb'>, ImportSpec> = {
    b: { file, rows: plan.rows, emulator: ['--rate-limit', 'track=off'], clientLimit: UNLIMITED },
    c0: limited(plan.limit),
    c150: limited(plan.limit, ['--latency-ms', '150', '--latency-jitter-ms', '50']),
    c300: limited(plan.limit, ['--latency-ms', '300', '--latency-jitter-ms', '100']),
    j: {
      ...limited(plan.jitterLimit, ['--arrival-jitter-ms', '250']),
      file: jitterFile,
      rows: plan.jitterRows,
    },
    d: {
      file,
      rows: plan.rows,
      emulator: ['--rate-limit', 'track=off'],
      clientLimit: UNLIMITED,
      split: true,
    },
  };
  const results: BenchResults = {};
  if (plan.only.has('a')) results.a = await measure('a', () => csvParseAlone(file));
  for (const name of ['b', 'c0', 'c150', 'c300', 'j', 'd'] as const) {
    if (plan.only.has(name)) results[name] = await measure(name, () => importRun(specs[name]));
  }
  if (plan.only.has('s')) results.s = await measure('s', () => syncRun(file, plan.rows, plan.limit.text));
  if (plan.only.has('bb')) results.bb = await measure('bb', () => bulkBackfill(file, plan.rows));
  return results;
}
