import { describe, expect, it } from 'vitest';
import { cliEnv, runCli, serveCli, startCli, stopCli } from '../helpers/cli.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';

const PASSWORD = 'e2e-dashboard-s3cret';
const lines = (text: string) => text.split('\n').filter((l) => l.trim() !== '');

describe('braze-import dashboard', () => {
  it('refuses a non-loopback host without credentials: exit 2, one line', async () => {
    const res = await runCli(
      ['dashboard', '--host', '0.0.0.0', '--port', '0'],
      cliEnv({ REDIS_URL: testRedisUrl(), BRAZE_IMPORT_PREFIX: uniquePrefix('dash-e2e') }),
      { timeoutMs: 30_000 },
    );
    expect(res.code).toBe(2);
    expect(res.stdout).toBe('');
    expect(lines(res.stderr)).toHaveLength(1);
    expect(res.stderr).toMatch(/DASHBOARD_USER.*DASHBOARD_PASSWORD/);
  });

  it('needs REDIS_URL', async () => {
    const res = await runCli(['dashboard', '--port', '0'], cliEnv({}), { timeoutMs: 30_000 });
    expect(res.code).toBe(2);
    expect(lines(res.stderr)).toHaveLength(1);
    expect(res.stderr).toMatch(/REDIS_URL/);
  });

  it('reports every bad flag, one line each, and half-set credentials', async () => {
    const flags = await runCli(
      ['dashboard', '--port', 'http', '--host', 'a b'],
      cliEnv({ REDIS_URL: testRedisUrl() }),
      { timeoutMs: 30_000 },
    );
    expect(flags.code).toBe(2);
    expect(lines(flags.stderr)).toEqual([expect.stringMatching(/--host/), expect.stringMatching(/--port/)]);
    const half = await runCli(
      ['dashboard', '--port', '0'],
      cliEnv({ REDIS_URL: testRedisUrl(), DASHBOARD_PASSWORD: PASSWORD }),
      { timeoutMs: 30_000 },
    );
    expect(half.code).toBe(2);
    expect(lines(half.stderr)).toEqual([expect.stringMatching(/^braze-import: DASHBOARD_USER: not set/)]);
    expect(half.stderr).not.toContain(PASSWORD);
  });

  it('refuses a password shorter than 12 characters, without quoting it', async () => {
    const res = await runCli(
      ['dashboard', '--host', '0.0.0.0', '--port', '0'],
      cliEnv({ REDIS_URL: testRedisUrl(), DASHBOARD_USER: 'ops', DASHBOARD_PASSWORD: 'short-pw' }),
      { timeoutMs: 30_000 },
    );
    expect(res.code).toBe(2);
    expect(lines(res.stderr)).toEqual([
      expect.stringMatching(/^braze-import: DASHBOARD_PASSWORD: must be at least 12 characters/),
    ]);
    expect(res.stderr).not.toContain('short-pw');
  });

  it('warns that it speaks plain HTTP even when the log level hides warnings', async () => {
    const env = cliEnv({
      REDIS_URL: testRedisUrl(),
      BRAZE_IMPORT_PREFIX: uniquePrefix('dash-e2e'),
      DASHBOARD_USER: 'ops',
      DASHBOARD_PASSWORD: PASSWORD,
      LOG_LEVEL: 'error',
    });
    const { child } = await serveCli(
      ['dashboard', '--host', '0.0.0.0', '--port', '0'],
      env,
      /(Dashboard on)/,
    );
    const result = await stopCli(child);
    expect(result.code).toBe(0);
    expect(lines(result.stderr)).toEqual([
      'braze-import: warning: the dashboard speaks plain HTTP: its login and pages cross the network unencrypted; put a TLS proxy in front',
    ]);
  });

  it('with credentials listens on 0.0.0.0, answers /healthz, guards the API and exits 0 on SIGTERM', async () => {
    const child = startCli(
      ['dashboard', '--host', '0.0.0.0', '--port', '0'],
      cliEnv({
        REDIS_URL: testRedisUrl(),
        BRAZE_IMPORT_PREFIX: uniquePrefix('dash-e2e'),
        DASHBOARD_USER: 'ops',
        DASHBOARD_PASSWORD: PASSWORD,
        LOG_LEVEL: 'debug',
      }),
    );
    const killer = setTimeout(() => child.kill('SIGKILL'), 30_000);
    try {
      let stdout = '';
      const url = await new Promise<string>((resolve, reject) => {
        child.stdout?.on('data', (d: Buffer) => {
          stdout += d.toString();
          const m = /^Dashboard on http:\/\/0\.0\.0\.0:(\d+)\n/.exec(stdout);
          if (m) resolve(`http://127.0.0.1:${m[1]}`);
        });
        child.once('exit', (code) => reject(new Error(`exited ${code} before listening`)));
      });
      expect(url).not.toMatch(/:0$/);
      const health = await fetch(`${url}/healthz`);
      expect(health.status).toBe(200);
      expect(await health.json()).toEqual({ ok: true });
      const anonymous = await fetch(`${url}/api/runs`);
      expect(anonymous.status).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic /);
      await anonymous.body?.cancel();
      const authorization = `Basic ${Buffer.from(`ops:${PASSWORD}`).toString('base64')}`;
      const runs = await fetch(`${url}/api/runs`, { headers: { authorization } });
      expect(runs.status).toBe(200);
      expect(await runs.json()).toEqual({ runs: [] });

      child.kill('SIGTERM');
      const result = await child.result;
      expect(result.code).toBe(0);
      expect(lines(result.stdout)).toEqual([expect.stringMatching(/^Dashboard on http:\/\/0\.0\.0\.0:\d+$/)]);
      expect(result.stderr).toContain('dashboard listening');
      expect(result.stdout + result.stderr).not.toContain(PASSWORD);
    } finally {
      clearTimeout(killer);
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
