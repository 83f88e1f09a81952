import { type ChildProcess, spawn } from 'node:child_process';
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
  return { ...rest, LOG_FORMAT: 'json', ...extra };
}

export function startCli(
  args: string[],
  env: NodeJS.ProcessEnv,
  cwd?: string,
): ChildProcess & { result: Promise<CliResult> } {
  const child = spawn(process.execPath, [BIN, ...args], { env, cwd, stdio: ['pipe', 'pipe', 'pipe'] });
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
