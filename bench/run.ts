/**
 * `npm run bench`: one run, three measurements on the same deterministic 1,000,000-row CSV.
 *   (a) csv-parse alone over the file;
 *   (b) `braze-import run` unthrottled against the emulator;
 *   (c) `braze-import run` against the emulator enforcing 3,000 requests per 3 s (sliding).
 * Each import uses a fresh private redis-server and an emulator in its own process, so producer RSS
 * and Redis memory are those of that run alone. Ratios are computed within this one run.
 */
import { spawn } from 'node:child_process';
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
import { startPrivateRedis } from '../src/infra/private-redis.js';
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
  redisPeakMb: number;
  rateLimited: number;
  maxIn3s: number;
  accepted: number;
}

async function importRun(
  label: string,
  emulatorLimit: string,
  clientLimit: string,
  port: number,
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
    const started = performance.now();
    const child = spawn(process.execPath, [BIN, 'run', FILE, '--json', '--concurrency', '32'], {
      env,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let stdout = '';
    child.stdout.on('data', (d) => (stdout += d));
    let peakRss = 0;
    const sampler = setInterval(() => {
      try {
        const status = readFileSync(`/proc/${child.pid}/status`, 'utf8');
        const hwm = Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0);
        peakRss = Math.max(peakRss, hwm);
      } catch {}
    }, 100);
    const code = await new Promise<number | null>((r) => child.on('close', r));
    clearInterval(sampler);
    const durationMs = performance.now() - started;
    if (code !== 0) throw new Error(`${label}: braze-import run exited ${code}: ${stdout.slice(0, 500)}`);
    const summary = JSON.parse(stdout) as { objects: { accepted: number }; requests: { sent: number } };
    const stats = (await (await fetch(`${url}/_emulator/stats`)).json()) as {
      rateLimited: number;
      maxTrackRequestsIn3s: number;
    };
    const client = new Redis(redis.url);
    const info = await client.info('memory');
    client.disconnect();
    const redisPeak = Number(/used_memory_peak:(\d+)/.exec(info)?.[1] ?? 0);
    return {
      rowsPerSec: ROWS / (durationMs / 1000),
      requestsPerSec: summary.requests.sent / (durationMs / 1000),
      durationMs,
      peakRssMb: peakRss / 1024,
      redisPeakMb: redisPeak / 1024 / 1024,
      rateLimited: stats.rateLimited,
      maxIn3s: stats.maxTrackRequestsIn3s,
      accepted: summary.objects.accepted,
    };
  } finally {
    emu.kill();
    await redis.stop();
  }
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
  const c = await importRun('limited', '3000/3s', '3000/3s', 4812);
  const allowed = 1000;
  const lines = [
    `(c) import at 3000/3s:     ${fmt(c.rowsPerSec)} rows/s, ${fmt(c.requestsPerSec, 1)} req/s (${fmt(c.durationMs / 1000, 1)} s)`,
    '',
    `b/a (pipeline vs csv-parse alone):          ${fmt(b.rowsPerSec / a, 2)}   (goal >= 0.40)`,
    `c achieved / allowed rate (1000 req/s):     ${fmt(c.requestsPerSec / allowed, 3)}  (goal >= 0.90)`,
    `c 429s:                                     ${c.rateLimited}      (goal 0)`,
    `c emulator maxTrackRequestsIn3s:            ${c.maxIn3s}   (limit 3000)`,
    `producer peak RSS (b / c):                  ${fmt(b.peakRssMb)} / ${fmt(c.peakRssMb)} MB  (goal <= 200)`,
    `Redis peak used memory (b / c):             ${fmt(b.redisPeakMb, 1)} / ${fmt(c.redisPeakMb, 1)} MB  (goal <= 100)`,
    `objects accepted (b / c):                   ${fmt(b.accepted)} / ${fmt(c.accepted)}`,
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
  writeFileSync(join(DATA, 'last-result.json'), JSON.stringify({ rows: ROWS, a, b, c }, null, 2));
}

main().catch((err) => {
  process.stderr.write(`bench failed: ${(err as Error).message}\n`);
  process.exit(1);
});
