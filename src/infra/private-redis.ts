import { type ChildProcess, spawn } from 'node:child_process';
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { createConnection, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { EnvironmentError } from '../errors.js';

export const HOW_TO_GET_REDIS =
  'no Redis available: set REDIS_URL=redis://HOST:PORT, or install redis-server (Debian/Ubuntu: apt-get install redis-server; macOS: brew install redis)';

export interface PrivateRedis {
  url: string;
  port: number;
  dir: string;
  pid: number | undefined;
  /** Kill -9 the server (fault tests) without removing its data directory. */
  kill(): void;
  /** Start the server again on the same port and directory (with AOF, data survives). */
  restart(): Promise<void>;
  stop(): Promise<void>;
}

export interface PrivateRedisOptions {
  /** AOF persistence, for tests that restart Redis mid-run. Off by default: a private Redis is throwaway. */
  appendOnly?: boolean;
  binary?: string;
  startTimeoutMs?: number;
}

/** Finds redis-server on PATH (and the usual sbin folders that a non-root PATH may lack). */
export function findRedisServer(pathEnv = process.env['PATH'] ?? ''): string | undefined {
  const dirs = [...pathEnv.split(delimiter), '/usr/local/bin', '/usr/bin', '/usr/sbin', '/opt/homebrew/bin'];
  for (const dir of dirs) {
    if (!dir) continue;
    const candidate = join(dir, 'redis-server');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {}
  }
  return undefined;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const addr = server.address();
      const port = typeof addr === 'object' && addr ? addr.port : 0;
      server.close(() => resolve(port));
    });
  });
}

/**
 * Starts a throwaway redis-server on a free loopback port in a temp dir, waits until it answers
 * PING, and makes sure it dies with this process.
 */
export async function startPrivateRedis(options: PrivateRedisOptions = {}): Promise<PrivateRedis> {
  const binary = options.binary ?? findRedisServer();
  if (!binary) throw new EnvironmentError(HOW_TO_GET_REDIS);
  const dir = mkdtempSync(join(tmpdir(), 'braze-import-redis-'));
  let port = 0;
  let child: ChildProcess | undefined;
  // A free port can be taken between probing and binding; try a few.
  for (let attempt = 0; attempt < 3 && !child; attempt++) {
    port = await freePort();
    child = await launch(binary, port, dir, options).catch(() => undefined);
  }
  if (!child) {
    rmSync(dir, { recursive: true, force: true });
    throw new EnvironmentError(`could not start ${binary}; ${HOW_TO_GET_REDIS}`);
  }
  let current: ChildProcess = child;
  const killOnExit = () => current.kill('SIGKILL');
  process.once('exit', killOnExit);
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    dir,
    get pid() {
      return current.pid;
    },
    kill() {
      current.kill('SIGKILL');
    },
    async restart() {
      await waitExit(current, 'SIGTERM');
      current = await launch(binary, port, dir, options);
    },
    async stop() {
      process.removeListener('exit', killOnExit);
      await waitExit(current, 'SIGTERM');
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

async function launch(binary: string, port: number, dir: string, options: PrivateRedisOptions) {
  const args = [
    '--port',
    String(port),
    '--bind',
    '127.0.0.1',
    '--dir',
    dir,
    '--save',
    '',
    '--appendonly',
    options.appendOnly ? 'yes' : 'no',
    '--appendfsync',
    'everysec',
    '--maxmemory-policy',
    'noeviction',
    '--daemonize',
    'no',
    '--logfile',
    join(dir, 'redis.log'),
  ];
  const child = spawn(binary, args, { stdio: 'ignore' });
  const exited = new Promise<never>((_, reject) => {
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`redis-server exited with code ${code}`)));
  });
  try {
    await Promise.race([waitForPing(port, options.startTimeoutMs ?? 10_000), exited]);
  } catch (err) {
    child.kill('SIGKILL');
    throw err;
  }
  exited.catch(() => {});
  return child;
}

async function waitForPing(port: number, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await ping(port)) return;
    await new Promise((r) => setTimeout(r, 25));
  }
  throw new Error(`redis-server on port ${port} did not answer within ${timeoutMs} ms`);
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port });
    const done = (ok: boolean) => {
      socket.destroy();
      resolve(ok);
    };
    socket.setTimeout(500, () => done(false));
    socket.once('error', () => done(false));
    socket.once('connect', () => socket.write('PING\r\n'));
    // AOF loading answers -LOADING; only +PONG means ready.
    socket.once('data', (data) => done(data.toString().startsWith('+PONG')));
  });
}

function waitExit(child: ChildProcess, signal: NodeJS.Signals): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill(signal);
  });
}
