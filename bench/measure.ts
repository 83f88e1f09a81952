/**
 * Measuring a process from outside: wall time, CPU time and peak RSS, and Redis's CPU.
 *
 * CPU comes from the kernel's own accounting of the whole process (every thread: the `run`
 * process's sender thread, V8's GC and compiler threads, libuv's pool), read when it has exited:
 * a bash wrapper starts the command, waits for it, and prints `times`, whose second line is
 * getrusage(RUSAGE_CHILDREN) of the shell, that is, of the command alone. Sampling /proc while it
 * runs would miss its last moments; Node offers no getrusage of a child.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { Readable } from 'node:stream';
import type { Redis } from 'ioredis';
import { DEFAULT_SLACK_MS, slackOf } from '../src/send/limiter.js';

export interface Measured {
  /** Exit code; null when killed (by the deadline, or a signal). */
  code: number | null;
  stdout: string;
  wallMs: number;
  /** User + system CPU seconds of the process and all its threads, up to its exit. */
  cpuS: number;
  /** Highest resident set size (VmHWM), sampled every 100 ms (it only grows, so the last sample holds it). */
  peakRssMb: number;
}

/** fd 3 gets the command's pid, then the shell's `times`; the command's exit code is passed on. */
const WRAPPER = '"$@" & pid=$!; echo "$pid" >&3; wait "$pid"; rc=$?; times >&3; exit "$rc"';

/** Runs `argv` to its end (or kills it at the deadline) and measures it. */
export async function runMeasured(
  argv: string[],
  env: NodeJS.ProcessEnv,
  deadlineMs: number,
): Promise<Measured> {
  const started = performance.now();
  const child = spawn('bash', ['-c', WRAPPER, 'bench', ...argv], {
    env,
    stdio: ['ignore', 'pipe', 'inherit', 'pipe'],
  });
  let stdout = '';
  let side = '';
  let rss: RssSampler | undefined;
  child.stdout?.on('data', (d: Buffer) => {
    stdout += d;
  });
  (child.stdio[3] as Readable).on('data', (d: Buffer) => {
    side += d;
    const pid = /^(\d+)\n/.exec(side)?.[1];
    if (pid && !rss) rss = sampleRss(Number(pid));
  });
  const timer = setTimeout(() => rss?.kill(), deadlineMs);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  const wallMs = performance.now() - started;
  const peakRssMb = (rss?.stop() ?? 0) / 1024;
  return { code: rss?.killed ? null : code, stdout, wallMs, cpuS: childrenCpu(side), peakRssMb };
}

/** The children line of bash's `times` ("1m2.345s 0m0.678s"), as seconds of user + system. */
function childrenCpu(side: string): number {
  const line = side.trim().split('\n')[2] ?? '';
  const m = /(\d+)m([\d.,]+)s\s+(\d+)m([\d.,]+)s/.exec(line);
  if (!m) throw new Error(`could not read the CPU time of a measured process from "${side.trim()}"`);
  const s = (min: string | undefined, sec: string | undefined) =>
    Number(min) * 60 + Number((sec ?? '').replace(',', '.'));
  return s(m[1], m[2]) + s(m[3], m[4]);
}

export interface RssSampler {
  readonly killed: boolean;
  /** SIGKILLs the process (the deadline passed). */
  kill(): void;
  /** Stops sampling; the peak in KB. */
  stop(): number;
}

/** Samples VmHWM (peak RSS, KB) of a running process every 100 ms. */
export function sampleRss(pid: number): RssSampler {
  let peak = 0;
  let killed = false;
  const read = () => {
    try {
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      peak = Math.max(peak, Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0));
    } catch {}
  };
  read();
  const timer = setInterval(read, 100);
  return {
    get killed() {
      return killed;
    },
    kill() {
      killed = true;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {}
    },
    stop() {
      clearInterval(timer);
      return peak;
    },
  };
}

/** Redis's CPU seconds so far (user + system, all its threads), from INFO cpu. */
export async function redisCpuSeconds(client: Redis): Promise<number> {
  const info = await client.info('cpu');
  const field = (name: string) => Number(new RegExp(`^${name}:([\\d.]+)`, 'm').exec(info)?.[1] ?? Number.NaN);
  return field('used_cpu_user') + field('used_cpu_sys');
}

/** Redis's peak used memory in MB, from INFO memory. */
export async function redisPeakMb(client: Redis): Promise<number> {
  const info = await client.info('memory');
  return Number(/^used_memory_peak:(\d+)/m.exec(info)?.[1] ?? Number.NaN) / 1024 / 1024;
}

/**
 * What the send gate of the run's rate group held when the run ended: how many send times it handed
 * out (more than the requests sent: a request that left late took a new one and its first time went
 * unused), and the slack in force, with the two estimates it was learned from (src/send/limiter.ts
 * slackOf). In a run at the limit, the slack caps the rate at max / (window + slack). Undefined when
 * the gate's keys are gone (they expire a few seconds after the last take).
 */
export interface GateView {
  timesHandedOut: number;
  slackMs: number;
  /** From Braze's counts in its answers (-1: no estimate yet). */
  jitterMs: number;
  /** Of how long answers took (-1: none yet). */
  spreadMs: number;
}

/** `startMs`: the slack the run started with (BRAZE_RATE_SLACK_MS; the bench leaves it at the default). */
export async function gateView(
  client: Redis,
  prefix = 'braze-import',
  startMs = DEFAULT_SLACK_MS,
): Promise<GateView | undefined> {
  for (const key of await client.keys(`${prefix}:gate:*`)) {
    if ((await client.type(key)) !== 'hash') continue;
    const [n, floor, jit, spread] = await client.hmget(key, 'n', 'slack', 'jit', 'spread');
    const jitterMs = Number(jit ?? -1);
    const spreadMs = Number(spread ?? -1);
    // A stored slack at or below the start value is not a floor (gate.ts gate_open).
    const floorMs = Number(floor ?? 0) > startMs ? Number(floor) : 0;
    return {
      timesHandedOut: Number(n ?? 0),
      slackMs: slackOf(startMs, floorMs, jitterMs, spreadMs),
      jitterMs,
      spreadMs,
    };
  }
  return undefined;
}
