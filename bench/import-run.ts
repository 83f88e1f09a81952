/**
 * One import as a user runs it, measured: a fresh private redis-server and an emulator process of its
 * own, then `braze-import run FILE --json` with the given limit and no other flag, so every figure is
 * that of the defaults a user gets (`--concurrency` is left out on purpose: the bench judges whether
 * the default settings reach the limit, and a fixed value would hide that).
 */
import { execFile, spawn } from 'node:child_process';
import { promisify } from 'node:util';
import { Redis } from 'ioredis';
import { loadConfig } from '../src/config.js';
import type { EmulatorStatsView } from '../src/emulator/index.js';
import { startPrivateRedis } from '../src/infra/private-redis.js';
import { BIN } from './data-file.js';
import { benchEnv, type EmulatorProcess, startEmulatorProcess } from './emulator-process.js';
import { type GateView, gateView, redisCpuSeconds, redisPeakMb, runMeasured, sampleRss } from './measure.js';

/** A hung import is stopped and reported as failed rather than holding the bench forever. */
const DEADLINE_MS = 20 * 60_000;
const execFileAsync = promisify(execFile);

export interface ImportSpec {
  file: string;
  rows: number;
  /** Flags added to `braze-import emulator` (rate limit, latency, jitter). */
  emulator: string[];
  /** The client's BRAZE_TRACK_RATE_LIMIT. */
  clientLimit: string;
  /** `run --enqueue-only` while one `braze-import worker` process sends: the producer measured alone. */
  split?: boolean;
}

export interface ImportResult {
  rows: number;
  /** From the `run` process's start to its exit (split: to the run's completion). */
  wallS: number;
  /** CPU seconds of the `run` process (all its threads), and of Redis over the same time. */
  runCpuS: number;
  redisCpuS: number;
  /** CPU seconds of the emulator over the same time: the stand-in for Braze shares the cores. */
  emulatorCpuS: number;
  /** Peak RSS of the `run` process, and of the `worker` process of a split run (0 otherwise). */
  peakRssMb: number;
  workerPeakRssMb: number;
  redisPeakMb: number;
  /** From the run's summary. */
  requestsSent: number;
  accepted: number;
  /** What the emulator saw. */
  emulator: EmulatorStatsView;
  /** The send gate when the run ended (undefined: its keys were gone). */
  gate: GateView | undefined;
}

type Summary = {
  runId: string;
  status: string;
  objects: { total: number; accepted: number };
  requests: { sent: number };
};

export async function importRun(spec: ImportSpec): Promise<ImportResult> {
  const redis = await startPrivateRedis();
  let emu: EmulatorProcess | undefined;
  const client = new Redis(redis.url, { maxRetriesPerRequest: 1 });
  try {
    emu = await startEmulatorProcess(spec.emulator);
    const env = benchEnv(redis.url, emu.url, spec.clientLimit);
    const worker = spec.split ? await startWorker(env) : undefined;
    const redisCpuBefore = await redisCpuSeconds(client);
    const emulatorCpuBefore = emu.cpuSeconds();
    const started = performance.now();
    const args = [BIN, 'run', spec.file, '--json', ...(spec.split ? ['--enqueue-only'] : [])];
    const run = await runMeasured(args, env, DEADLINE_MS);
    if (run.code !== 0) throw new Error(`braze-import run exited ${run.code}: ${run.stdout.slice(0, 500)}`);
    // Read at once: the gate's keys expire a few seconds after its last take.
    const gate = await gateView(client, undefined, loadConfig(env).braze.rateSlackMs);
    let summary = JSON.parse(run.stdout) as Summary;
    if (worker) summary = await untilCompleted(emu, summary, env);
    const wallS = (performance.now() - started) / 1000;
    const workerPeakKb = (await worker?.stop()) ?? 0;
    return {
      rows: spec.rows,
      wallS: spec.split ? wallS : run.wallMs / 1000,
      runCpuS: run.cpuS,
      redisCpuS: (await redisCpuSeconds(client)) - redisCpuBefore,
      emulatorCpuS: emu.cpuSeconds() - emulatorCpuBefore,
      peakRssMb: run.peakRssMb,
      workerPeakRssMb: workerPeakKb / 1024,
      redisPeakMb: await redisPeakMb(client),
      requestsSent: summary.requests.sent,
      accepted: summary.objects.accepted,
      emulator: await emu.stats(),
      gate,
    };
  } finally {
    client.disconnect();
    await emu?.stop();
    await redis.stop();
  }
}

/** `braze-import worker` (default flags), given a second to connect and wait for jobs. */
async function startWorker(env: NodeJS.ProcessEnv): Promise<{ stop(): Promise<number> }> {
  const child = spawn(BIN, ['worker'], { env, stdio: 'ignore' });
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const rss = sampleRss(child.pid ?? 0);
  await new Promise((r) => setTimeout(r, 1000));
  return {
    async stop() {
      child.kill('SIGTERM');
      await closed;
      return rss.stop();
    },
  };
}

/**
 * Waits for a split run to complete: first on the emulator's count of objects (cheap to ask), then
 * on `status` (a CLI start costs a good share of a core here, so it is not polled from the start).
 */
async function untilCompleted(
  emu: EmulatorProcess,
  summary: Summary,
  env: NodeJS.ProcessEnv,
): Promise<Summary> {
  const deadline = performance.now() + DEADLINE_MS;
  const pause = (ms: number) => new Promise((r) => setTimeout(r, ms));
  for (;;) {
    const { objects } = await emu.stats();
    if (objects.accepted + objects.rejected >= summary.objects.total) break;
    if (performance.now() > deadline) throw new Error('the split run did not finish in time');
    await pause(100);
  }
  for (;;) {
    const current = JSON.parse(await status(summary.runId, env)) as Summary;
    if (current.status.startsWith('completed')) return current;
    if (performance.now() > deadline) throw new Error(`the split run is still ${current.status}`);
    await pause(200);
  }
}

/** `status RUN --json`'s output, whatever its exit code says about the run. */
async function status(runId: string, env: NodeJS.ProcessEnv): Promise<string> {
  try {
    return (await execFileAsync(BIN, ['status', runId, '--json'], { env })).stdout;
  } catch (err) {
    const { stdout } = err as { stdout?: string };
    if (stdout) return stdout;
    throw err;
  }
}
