/**
 * The emulator as the bench runs it: `braze-import emulator` in a process of its own (so its CPU and
 * memory are not the import's), on a free port, validating only (`--store none`).
 */
import { type ChildProcessByStdio, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { delimiter, dirname } from 'node:path';
import type { Readable } from 'node:stream';
import type { EmulatorStatsView } from '../src/emulator/index.js';
import { BIN } from './data-file.js';

export const KEY = 'bench-key';

/** The environment of a measured CLI command: this Redis and emulator, warnings only, and a client limit when given. */
export function benchEnv(redisUrl: string, emulatorUrl: string, clientLimit?: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    // The launcher runs as a program (as `npx braze-import` runs it) with this node: see BIN.
    PATH: `${dirname(process.execPath)}${delimiter}${process.env['PATH'] ?? ''}`,
    REDIS_URL: redisUrl,
    BRAZE_REST_ENDPOINT: emulatorUrl,
    BRAZE_API_KEY: KEY,
    ...(clientLimit !== undefined ? { BRAZE_TRACK_RATE_LIMIT: clientLimit } : {}),
    LOG_LEVEL: 'warn',
  };
}

export interface EmulatorProcess {
  url: string;
  stats(): Promise<EmulatorStatsView>;
  /** Its CPU seconds so far (user + system, all its threads): what the stand-in for Braze takes of the cores. */
  cpuSeconds(): number;
  stop(): Promise<void>;
}

/** User + system CPU seconds of a running process, from /proc (clock ticks of 1/100 s on Linux). */
function processCpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return Number.NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command's name, which is in parentheses and may hold spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return Number.NaN;
  }
}

/**
 * A server in a child process (stdout piped) that prints "listening on URL" when ready: its URL, and
 * a promise of its exit. `name` says which server in the error when it exits first.
 */
export async function listeningChild(
  child: ChildProcessByStdio<null, Readable, null>,
  name: string,
): Promise<{ url: string; closed: Promise<void> }> {
  const closed = new Promise<void>((resolve) => child.once('close', () => resolve()));
  const url = await new Promise<string>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = /listening on (http:\/\/\S+)/.exec(out);
      if (m?.[1]) {
        child.stdout.off('data', onData);
        child.stdout.resume();
        resolve(m[1]);
      }
    };
    child.stdout.on('data', onData);
    void closed.then(() => reject(new Error(`${name} exited before listening: ${out.trim()}`)));
  });
  return { url, closed };
}

/** Starts it with `flags` added (e.g. `--rate-limit track=3000/3s --latency-ms 150`). */
export async function startEmulatorProcess(flags: string[]): Promise<EmulatorProcess> {
  const args = ['emulator', '--port', '0', '--api-key', KEY, '--store', 'none', ...flags];
  const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'inherit'] });
  const { url, closed } = await listeningChild(child, 'the emulator');
  return {
    url,
    async stats() {
      const res = await fetch(`${url}/_emulator/stats`);
      return (await res.json()) as EmulatorStatsView;
    },
    cpuSeconds: () => processCpuSeconds(child.pid),
    async stop() {
      child.kill('SIGTERM');
      await closed;
    },
  };
}
