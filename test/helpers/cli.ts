import { type ChildProcess, spawn } from 'node:child_process';
import { delimiter, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

export const BIN = fileURLToPath(new URL('../../bin/braze-import.js', import.meta.url));

export interface CliResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Environment for a CLI child: nothing inherited that could point it at a real Braze or Redis. */
export function cliEnv(extra: Record<string, string | undefined>): NodeJS.ProcessEnv {
  const { BRAZE_REST_ENDPOINT: _e, BRAZE_API_KEY: _k, REDIS_URL: _r, ...rest } = process.env;
  return withThisNode({ ...rest, LOG_FORMAT: 'json', ...extra });
}

/**
 * `env` with this test's node first on PATH: the CLI starts as a user starts it, the launcher as a
 * program (its first line picks Node's flags for the command and runs `node`), on the Node line
 * under test.
 */
export function withThisNode(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  const dir = dirname(process.execPath);
  const path = env['PATH'] ?? '';
  return path.split(delimiter)[0] === dir ? env : { ...env, PATH: `${dir}${delimiter}${path}` };
}

export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): ChildProcess & { result: Promise<CliResult> } {
  const child = spawn(BIN, args, { env: withThisNode(env), cwd, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (d) => (stdout += d));
  child.stderr.on('data', (d) => (stderr += d));
  const result = new Promise<CliResult>((resolve) => {
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
  return Object.assign(child, { result });
}

export async function runCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  opts: { cwd?: string; stdin?: string; timeoutMs?: number } = {},
): Promise<CliResult> {
  const child = startCli(args, env, opts.cwd);
  child.stdin?.end(opts.stdin ?? '');
  const timer = setTimeout(() => child.kill('SIGKILL'), opts.timeoutMs ?? 120_000);
  try {
    return await child.result;
  } finally {
    clearTimeout(timer);
  }
}

/**
 * Starts a long-lived command (dashboard, worker) and resolves with the first match of `pick` in its
 * output (its URL); rejects if it exits first. The child is returned for the caller to stop.
 */
export async function serveCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  pick: RegExp,
): Promise<{ child: ChildProcess & { result: Promise<CliResult> }; found: string }> {
  const child = startCli(args, env);
  let seen = '';
  const found = await new Promise<string>((resolve, reject) => {
    const look = (d: Buffer) => {
      seen += d.toString();
      const m = pick.exec(seen);
      if (m?.[1]) resolve(m[1]);
    };
    child.stdout?.on('data', look);
    child.stderr?.on('data', look);
    child.once('exit', (code) => reject(new Error(`${args[0]} exited ${code}: ${seen.slice(-500)}`)));
  });
  return { child, found };
}

/** Stops a served command with SIGTERM and waits for it. */
export async function stopCli(child: ChildProcess & { result: Promise<CliResult> }): Promise<CliResult> {
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
  return child.result;
}
