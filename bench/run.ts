/**
 * `npm run bench`: one run, three measurements on the same deterministic 1,000,000-row CSV.
 *   (a) csv-parse alone over the file;
 *   (b) `braze-import run` unthrottled against the emulator;
 *   (c) `braze-import run` against the emulator enforcing 3,000 requests per 3 s (sliding);
 *       BENCH_TRACK_LIMIT=1500/3s measures it at another limit (the goal is stated for 3000/3s);
 *   (d) the producer alone: `run --enqueue-only` while one `braze-import worker` process sends
 *       (unthrottled), so the producer's own peak RSS is measured apart from the sender's.
 * Each import uses a fresh private redis-server and an emulator in its own process, so producer RSS
 * and Redis memory are those of that run alone. Ratios are computed within this one run.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  createReadStream,
  createWriteStream,
  existsSync,
  mkdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'csv-parse';
import { Redis } from 'ioredis';
import { parseRateLimit, type RateLimit } from '../schemas/config.js';
import { startPrivateRedis } from '../src/infra/private-redis.js';
import { gateFor, gateRate } from '../src/send/limiter.js';
import { csvHeader, csvLine, user } from './generate.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/braze-import.js');
const ROWS = Number(process.env['BENCH_ROWS'] ?? 1_000_000);
const DATA = join(ROOT, '.bench-data');
const FILE = join(DATA, `users-${ROWS}.csv`);
const KEY = 'bench-key';

async function ensureFile(): Promise<void> {
  if (existsSync(FILE)) return;
  mkdirSync(DATA, { recursive: true });
  const out = createWriteStream(FILE);
  const write = (s: string) =>
    out.write(s) ? Promise.resolve() : new Promise<void>((r) => out.once('drain', () => r()));
  await write(`${csvHeader()}\n`);
  let buf: string[] = [];
  for (let i = 0; i < ROWS; i++) {
    buf.push(csvLine(user(2026, i, 0)));
    if (buf.length === 5000) {
      await write(`${buf.join('\n')}\n`);
      buf = [];
    }
  }
  if (buf.length) await write(`${buf.join('\n')}\n`);
  await new Promise<void>((r) => out.end(() => r()));
}

async function csvParseOnly(): Promise<number> {
  const started = performance.now();
  let rows = 0;
  const parser = createReadStream(FILE).pipe(parse({ columns: true, bom: true }));
  for await (const _ of parser) rows++;
  return rows / ((performance.now() - started) / 1000);
}

async function waitForPort(url: string): Promise<void> {
  for (let i = 0; i < 200; i++) {
    try {
      await fetch(`${url}/_emulator/stats`);
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 50));
    }
  }
  throw new Error('emulator did not start');
}

interface ImportResult {
  rowsPerSec: number;
  requestsPerSec: number;
  durationMs: number;
  peakRssMb: number;
  /** The separate `braze-import worker` process of a split run (0 otherwise). */
  workerPeakRssMb: number;
  redisPeakMb: number;
  rateLimited: number;
  /** Requests per second between the first and the last request the emulator saw. */
  sendingRequestsPerSec: number;
  maxIn3s: number;
  accepted: number;
}

/** VmHWM (peak RSS, KB) of a running process, sampled until stop() is called. */
function peakRss(pid: number | undefined): { stop(): number } {
  let peak = 0;
  const timer = setInterval(() => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {}
  }, 100);
  return {
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

async function importRun(
  label: string,
  emulatorLimit: string,
  clientLimit: string,
  port: number,
  split = false,
): Promise<ImportResult> {
  const redis = await startPrivateRedis();
  const emu = spawn(
    process.execPath,
    [
      BIN,
      'emulator',
      '--port',
      String(port),
      '--api-key',
      KEY,
      '--store',
      'none',
      '--rate-limit',
      `track=${emulatorLimit}`,
    ],
    { stdio: 'ignore' },
  );
  const url = `http://127.0.0.1:${port}`;
  try {
    await waitForPort(url);
    const env = {
      ...process.env,
      REDIS_URL: redis.url,
      BRAZE_REST_ENDPOINT: url,
      BRAZE_API_KEY: KEY,
      BRAZE_TRACK_RATE_LIMIT: clientLimit,
      LOG_LEVEL: 'warn',
    };
    const worker = split
      ? spawn(process.execPath, [BIN, 'worker', '--concurrency', '32'], { env, stdio: 'ignore' })
      : undefined;
    const workerRss = peakRss(worker?.pid);
    if (worker) await new Promise((r) => setTimeout(r, 1000)); // connected and waiting for jobs
    const started = performance.now();
    const args = [BIN, 'run', FILE, '--json', '--concurrency', '32', ...(split ? ['--enqueue-only'] : [])];
    const child = spawn(process.execPath, args, { env, stdio: ['ignore', 'pipe', 'inherit'] });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    const producerRss = peakRss(child.pid);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    const peakRssKb = producerRss.stop();
    if (code !== 0) throw new Error(`${label}: braze-import run exited ${code}: ${stdout.slice(0, 500)}`);
    let summary = JSON.parse(stdout) as {
      runId: string;
      status: string;
      objects: { accepted: number };
      requests: { sent: number };
    };
    while (split && !summary.status.startsWith('completed')) {
      await new Promise((r) => setTimeout(r, 100));
      const status = spawnSync(process.execPath, [BIN, 'status', summary.runId, '--json'], { env });
      summary = JSON.parse(status.stdout.toString());
    }
    const durationMs = performance.now() - started;
    if (worker) {
      worker.kill('SIGTERM');
      await new Promise((r) => worker.on('close', r));
    }
    const workerPeakKb = workerRss.stop();
    const stats = (await (await fetch(`${url}/_emulator/stats`)).json()) as {
      rateLimited: number;
      maxTrackRequestsIn3s: number;
      requests: { track: number };
      firstTrackAt: number | null;
      lastTrackAt: number | null;
    };
    const sendingMs = (stats.lastTrackAt ?? 0) - (stats.firstTrackAt ?? 0);
    const client = new Redis(redis.url);
    const info = await client.info('memory');
    client.disconnect();
    const redisPeak = Number(/used_memory_peak:(\d+)/.exec(info)?.[1] ?? 0);
    return {
      rowsPerSec: ROWS / (durationMs / 1000),
      requestsPerSec: summary.requests.sent / (durationMs / 1000),
      durationMs,
      peakRssMb: peakRssKb / 1024,
      workerPeakRssMb: workerPeakKb / 1024,
      redisPeakMb: redisPeak / 1024 / 1024,
      rateLimited: stats.rateLimited,
      sendingRequestsPerSec: sendingMs > 0 ? (stats.requests.track - 1) / (sendingMs / 1000) : 0,
      maxIn3s: stats.maxTrackRequestsIn3s,
      accepted: summary.objects.accepted,
    };
  } finally {
    emu.kill();
    await redis.stop();
  }
}

const TRACK_LIMIT = process.env['BENCH_TRACK_LIMIT'] ?? '3000/3s';

/** The most of the limit that the send gate lets through in the long run, as a fraction of it. */
function gateCap(limit: RateLimit): number {
  return (gateRate(gateFor(limit)) * limit.windowMs) / limit.max;
}

const fmt = (n: number, d = 0) =>
  n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d });

async function main() {
  process.stdout.write(`bench: ${fmt(ROWS)} rows, ${FILE}\n`);
  await ensureFile();
  process.stdout.write(`file: ${fmt(statSync(FILE).size / 1024 / 1024, 1)} MiB\n`);
  const a = await csvParseOnly();
  process.stdout.write(`(a) csv-parse alone:        ${fmt(a)} rows/s\n`);
  const b = await importRun('unthrottled', 'off', '1000000/1s', 4811);
  process.stdout.write(
    `(b) import, unthrottled:    ${fmt(b.rowsPerSec)} rows/s (${fmt(b.durationMs / 1000, 1)} s)\n`,
  );
  const limit = parseRateLimit(TRACK_LIMIT);
  if (!limit)
    throw new Error(`BENCH_TRACK_LIMIT: expected <count>/<duration> such as 3000/3s, got ${TRACK_LIMIT}`);
  const c = await importRun('limited', TRACK_LIMIT, TRACK_LIMIT, 4812);
  const d = await importRun('split', 'off', '1000000/1s', 4813, true);
  const allowed = (limit.max / limit.windowMs) * 1000;
  const goal =
    TRACK_LIMIT === '3000/3s'
      ? '(goal >= 0.90; process start to exit)'
      : '(process start to exit; the goal is for 3000/3s)';
  const lines = [
    `(c) import at ${TRACK_LIMIT}:     ${fmt(c.rowsPerSec)} rows/s, ${fmt(c.requestsPerSec, 1)} req/s (${fmt(c.durationMs / 1000, 1)} s)`,
    '',
    `b/a (pipeline vs csv-parse alone):          ${fmt(b.rowsPerSec / a, 2)}   (goal >= 0.40)`,
    `c achieved / allowed rate (${fmt(allowed)} req/s):     ${fmt(c.requestsPerSec / allowed, 3)}  ${goal}`,
    `c while sending (first to last request):    ${fmt(c.sendingRequestsPerSec / allowed, 3)}  (the gate allows ${fmt(gateCap(limit), 3)} after the first window)`,
    `c 429s:                                     ${c.rateLimited}      (goal 0)`,
    `c emulator maxTrackRequestsIn3s:            ${c.maxIn3s}   (limit ${limit.max} per ${limit.windowMs / 1000} s)`,
    `run process peak RSS, producer + sender thread (b / c): ${fmt(b.peakRssMb)} / ${fmt(c.peakRssMb)} MB`,
    `(d) producer alone (run --enqueue-only) peak RSS: ${fmt(d.peakRssMb)} MB  (goal <= 200); its worker process ${fmt(d.workerPeakRssMb)} MB`,
    `(d) producer + 1 worker process, unthrottled: ${fmt(d.rowsPerSec)} rows/s (${fmt(d.durationMs / 1000, 1)} s), d/a ${fmt(d.rowsPerSec / a, 2)}`,
    `Redis peak used memory (b / c):             ${fmt(b.redisPeakMb, 1)} / ${fmt(c.redisPeakMb, 1)} MB  (goal <= 100)`,
    `objects accepted (b / c / d):               ${fmt(b.accepted)} / ${fmt(c.accepted)} / ${fmt(d.accepted)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  writeFileSync(join(DATA, 'last-result.json'), JSON.stringify({ rows: ROWS, a, b, c, d }, null, 2));
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
