/**
 * `npm run bench`: every figure issue 12 asks for, in one run, each beside its goal; see README
 * "Benchmarks" for what each line means and scenarios.ts for what runs.
 *
 *   BENCH_ROWS=N          rows of the main file (default 1,000,000; (j) uses at most 100,000)
 *   BENCH_ONLY=b,c0       run only these scenarios (a, b, c0, c150, c300, j, d, s, bb); the others show "not run"
 *   BENCH_TRACK_LIMIT=L   the limit of (c0), (c150) and (c300) (default 3000/3s; the goals are for that)
 *   BENCH_DATA_DIR=DIR    where the generated files and last-result.json go (default .bench-data/)
 *
 * The 10M-row memory measurement: BENCH_ROWS=10000000 BENCH_ONLY=b,c0 npm run bench (writes a
 * 1.4 GB file into .bench-data/ the first time).
 */
import { loadavg } from 'node:os';
import { fmt } from './figures.js';
import { printConditions, printTable, writeResult } from './report.js';
import { type BenchPlan, readLimit, runScenarios, SCENARIOS, type ScenarioName } from './scenarios.js';
import { buildSections } from './sections.js';

function planFromEnv(env: NodeJS.ProcessEnv): BenchPlan {
  const rows = Number(env['BENCH_ROWS'] ?? 1_000_000);
  if (!Number.isInteger(rows) || rows < 1)
    throw new Error(`BENCH_ROWS: expected a whole number, got ${rows}`);
  const only = (env['BENCH_ONLY'] ?? SCENARIOS.join(',')).split(',').map((s) => s.trim());
  const unknown = only.filter((s) => !(SCENARIOS as readonly string[]).includes(s));
  if (unknown.length)
    throw new Error(`BENCH_ONLY: unknown ${unknown.join(', ')} (known: ${SCENARIOS.join(', ')})`);
  return {
    rows,
    jitterRows: Math.min(rows, 100_000),
    limit: readLimit(env['BENCH_TRACK_LIMIT'] ?? '3000/3s'),
    jitterLimit: readLimit('600/3s'),
    only: new Set(only as ScenarioName[]),
  };
}

async function main(): Promise<number> {
  const plan = planFromEnv(process.env);
  const started = performance.now();
  const load = loadavg()
    .map((l) => l.toFixed(2))
    .join(' ');
  process.stdout.write(
    `bench: ${fmt(plan.rows)} rows ((j): ${fmt(plan.jitterRows)}), scenarios ${[...plan.only].join(' ')}, ` +
      `load average at start ${load}\n`,
  );
  const results = await runScenarios(plan);
  const sections = buildSections(results, plan);
  const tookS = (performance.now() - started) / 1000;
  printTable(sections);
  printConditions(results);
  const file = writeResult(plan, results, sections, tookS);
  process.stdout.write(`\nbench took ${fmt(tookS / 60, 1)} min (${fmt(tookS)} s); results in ${file}\n`);
  const failed = Object.values(results).some((o) => !o.ok);
  return failed ? 1 : 0;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    process.stderr.write(`bench failed: ${(err as Error).message}\n`);
    process.exit(1);
  },
);
