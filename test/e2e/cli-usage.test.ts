import { readFileSync } from 'node:fs';
import { createServer, type Socket } from 'node:net';
import { describe, expect, it } from 'vitest';
import { BIN, cliEnv, runCli, startCli } from '../helpers/cli.js';

const env = cliEnv({});

function oneLineNoStack(stderr: string) {
  expect(stderr).not.toMatch(/\n\s+at /);
  expect(stderr.trim().length).toBeGreaterThan(0);
}

describe('the CLI as a user meets it', () => {
  it('--help lists the commands', async () => {
    const r = await runCli(['--help'], env);
    expect(r.code).toBe(0);
    for (const c of ['demo', 'run', 'worker', 'status', 'dlq', 'emulator', 'check'])
      expect(r.stdout).toContain(c);
  });

  it('an unknown flag exits 2 with one line', async () => {
    const r = await runCli(['run', 'x.csv', '--frobnicate'], env);
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    oneLineNoStack(r.stderr);
  });

  it('bad flag values exit 2 with one line per problem', async () => {
    const r = await runCli(
      ['run', 'x.csv', '--format', 'xml', '--concurrency', 'lots', '--delimiter', ';;'],
      env,
    );
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(r.stderr).toMatch(/--format/);
    expect(r.stderr).toMatch(/--concurrency/);
    expect(r.stderr).toMatch(/--delimiter/);
  });

  it('a bad environment exits 2 with one line per problem and never echoes the key', async () => {
    const r = await runCli(
      ['check'],
      cliEnv({
        BRAZE_TRACK_RATE_LIMIT: 'fast',
        BRAZE_MAX_OBJECTS: '0',
        BRAZE_API_KEY: 'sekrit-123',
        BRAZE_REST_ENDPOINT: 'http://evil.example',
      }),
    );
    expect(r.code).toBe(2);
    const lines = r.stderr.trim().split('\n');
    expect(lines).toHaveLength(3);
    expect(r.stderr).not.toContain('sekrit-123');
    oneLineNoStack(r.stderr);
  });

  it('a missing input file exits 2 with one line', async () => {
    const r = await runCli(['run', '/nonexistent/users.csv', '--dry-run'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/nonexistent/);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
  });

  it('a producer facing a dead Redis fails fast with one clear line', async () => {
    const started = Date.now();
    const r = await runCli(
      ['run', 'samples/demo-users.jsonl'],
      cliEnv({
        REDIS_URL: 'redis://127.0.0.1:1',
        BRAZE_REST_ENDPOINT: 'http://127.0.0.1:9',
        BRAZE_API_KEY: 'k',
      }),
    );
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toMatch(/cannot reach Redis at redis:\/\/127\.0\.0\.1:1/);
    expect(Date.now() - started).toBeLessThan(15_000);
  });

  it('commands that need state say they need REDIS_URL', async () => {
    const r = await runCli(['status'], env);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/REDIS_URL/);
  });
});

describe('the launcher run as a program (npx braze-import, a global install, the Docker entrypoint)', () => {
  /** What the process was started with, once it is Node: the shell line has exec'd into it. */
  async function argvOnceNode(pid: number): Promise<string[]> {
    for (let i = 0; i < 200; i++) {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
      if (argv.includes(BIN) && !/(^|\/)sh$/.test(argv[0] ?? '')) return argv;
      await new Promise((r) => setTimeout(r, 25));
    }
    throw new Error(`process ${pid} did not become node`);
  }

  /** glibc's malloc settings in the environment the process started with (set by the launcher). */
  function mallocEnvOf(pid: number): Record<string, string> {
    const vars = readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0');
    return Object.fromEntries(
      vars
        .filter((v) => v.startsWith('MALLOC_'))
        .map((v) => [v.slice(0, v.indexOf('=')), v.slice(v.indexOf('=') + 1)]),
    );
  }
  const NO_MALLOC_ENV = { MALLOC_MMAP_THRESHOLD_: undefined, MALLOC_TRIM_THRESHOLD_: undefined };

  it("gives `run` fixed malloc thresholds, keeping a user's own", async () => {
    for (const [own, expected] of [
      [{}, { MALLOC_MMAP_THRESHOLD_: '2097152', MALLOC_TRIM_THRESHOLD_: '524288' }],
      [
        { MALLOC_TRIM_THRESHOLD_: '131072' },
        { MALLOC_MMAP_THRESHOLD_: '2097152', MALLOC_TRIM_THRESHOLD_: '131072' },
      ],
    ] as const) {
      const child = startCli(['run', '-', '--dry-run'], { ...env, ...NO_MALLOC_ENV, ...own });
      try {
        await argvOnceNode(child.pid ?? 0);
        expect(mallocEnvOf(child.pid ?? 0)).toEqual(expected);
      } finally {
        child.stdin?.end('external_id\nu1\n');
      }
      expect((await child.result).code).toBe(0);
    }
  });

  it('gives `worker` the same malloc thresholds and leaves V8 its defaults', async () => {
    // A "Redis" that takes connections and never answers keeps the worker starting while it is read.
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((r) => silent.listen(0, '127.0.0.1', r));
    const port = (silent.address() as { port: number }).port;
    const child = startCli(['worker'], {
      ...env,
      ...NO_MALLOC_ENV,
      REDIS_URL: `redis://127.0.0.1:${port}`,
      BRAZE_REST_ENDPOINT: 'http://127.0.0.1:9',
      BRAZE_API_KEY: 'k',
    });
    try {
      const argv = await argvOnceNode(child.pid ?? 0);
      expect(argv.slice(argv.indexOf(BIN))).toEqual([BIN, 'worker']);
      expect(argv.some((a) => a.startsWith('--max-semi-space-size'))).toBe(false);
      expect(mallocEnvOf(child.pid ?? 0)).toEqual({
        MALLOC_MMAP_THRESHOLD_: '2097152',
        MALLOC_TRIM_THRESHOLD_: '524288',
      });
    } finally {
      child.kill('SIGKILL');
      await child.result;
      for (const s of sockets) s.destroy();
      await new Promise((r) => silent.close(r));
    }
  });

  it('gives `run` a small young generation at start, in the same process', async () => {
    // Reading stdin that stays open keeps the run alive while its command line is read.
    const child = startCli(['run', '-', '--dry-run'], env);
    try {
      const argv = await argvOnceNode(child.pid ?? 0);
      expect(argv.slice(argv.indexOf(BIN) - 1)).toEqual([
        '--max-semi-space-size=8',
        BIN,
        'run',
        '-',
        '--dry-run',
      ]);
      expect(argv[0]).toMatch(/node[^/]*$/);
    } finally {
      child.stdin?.end('external_id\nu1\n');
    }
    const r = await child.result;
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/1 row|1 accepted|1 object/);
  });

  it('leaves V8 and malloc their defaults for the other commands', async () => {
    const child = startCli(['emulator', '--port', '0', '--api-key', 'k', '--store', 'none'], {
      ...env,
      ...NO_MALLOC_ENV,
    });
    try {
      const argv = await argvOnceNode(child.pid ?? 0);
      expect(argv.slice(argv.indexOf(BIN))).toEqual([
        BIN,
        'emulator',
        '--port',
        '0',
        '--api-key',
        'k',
        '--store',
        'none',
      ]);
      expect(argv.some((a) => a.startsWith('--max-semi-space-size'))).toBe(false);
      expect(mallocEnvOf(child.pid ?? 0)).toEqual({});
    } finally {
      child.kill('SIGTERM');
      await child.result;
    }
  });
});
