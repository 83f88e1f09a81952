import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { findRedisServer, freePort } from '../../src/infra/private-redis.js';
import { type CliResult, cliEnv, runCli, startCli } from '../helpers/cli.js';
import { tempDir, writeCsv, writeJsonl } from '../helpers/files.js';
import { deletePrefix, testRedis, testRedisUrl, uniquePrefix } from '../helpers/redis.js';

/** Distinctive enough that any occurrence anywhere is a leak. */
const KEY = `sk-SECRET-${randomBytes(12).toString('hex')}`;
const LEAKS = [KEY, `Bearer ${KEY}`, encodeURIComponent(KEY)];

let emu: Emulator;
/** Expects another key: everything the CLI sends it is answered 401. */
let wrongKeyEmu: Emulator;
let dir: string;
let redis: Redis;
const prefix = uniquePrefix('sec');

beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: KEY });
  wrongKeyEmu = await startEmulator({ port: 0, apiKey: 'not-the-key-the-cli-has' });
  dir = tempDir('bi-secrets-');
  redis = testRedis();
});
afterAll(async () => {
  await deletePrefix(redis, prefix);
  await redis.quit();
  await Promise.all([emu.close(), wrongKeyEmu.close()]);
});

function env(extra: Record<string, string | undefined> = {}) {
  return cliEnv({
    REDIS_URL: testRedisUrl(),
    BRAZE_REST_ENDPOINT: emu.url,
    BRAZE_API_KEY: KEY,
    BRAZE_IMPORT_PREFIX: prefix,
    LOG_LEVEL: 'debug',
    ...extra,
  });
}

/** Every value under a prefix, by type, one `key<TAB>...` line per element. */
async function dumpPrefix(client: Redis, p: string): Promise<{ keys: string[]; text: string }> {
  const keys: string[] = [];
  let cursor = '0';
  do {
    const [next, batch] = await client.scan(cursor, 'MATCH', `${p}:*`, 'COUNT', 1000);
    cursor = next;
    keys.push(...batch);
  } while (cursor !== '0');
  const lines: string[] = [];
  for (const key of keys) {
    const type = await client.type(key);
    const add = (...parts: Array<string | number>) => lines.push([key, type, ...parts].join('\t'));
    switch (type) {
      case 'string':
        add((await client.get(key)) ?? '');
        break;
      case 'hash':
        for (const [f, v] of Object.entries(await client.hgetall(key))) add(f, v);
        break;
      case 'list':
        for (const v of await client.lrange(key, 0, -1)) add(v);
        break;
      case 'set':
        for (const v of await client.smembers(key)) add(v);
        break;
      case 'zset':
        add(...(await client.zrange(key, 0, -1, 'WITHSCORES')));
        break;
      case 'stream':
        for (const [id, fields] of await client.xrange(key, '-', '+')) add(id, ...fields);
        break;
      case 'none':
        break; // expired or removed since SCAN
      default:
        throw new Error(`unexpected Redis type ${type} for ${key}`);
    }
  }
  return { keys, text: lines.join('\n') };
}

function expectNoKey(text: string, where: string) {
  for (const leak of LEAKS) expect(text.includes(leak), `${where} contains the API key`).toBe(false);
}

describe('the API key never leaves the process', () => {
  const results: Array<{ what: string } & CliResult> = [];
  const files: string[] = [];
  const emails: string[] = [];
  /** Commands run with BRAZE_IMPORT_REDACT_IDS: no external id of their input may show in their logs. */
  const redacted: Array<{ stderr: string; ids: string[] }> = [];

  async function cli(what: string, args: string[], e: NodeJS.ProcessEnv) {
    const r = await runCli(args, e);
    results.push({ what, ...r });
    return r;
  }

  // About 30 CLI processes.
  it('imports with bad rows, 5xx retries, a halt, --api-key-file, and reads the state back', {
    timeout: 240_000,
  }, async () => {
    // 1. A normal import with bad rows: dead letters hold whole records.
    const normal = writeCsv(dir, 2000, 41, 0.05);
    emails.push(...normal.users.map((u) => String(u.attributes['email'])));
    const r1 = await cli('run (bad rows)', ['run', normal.path, '--json', '--run-id', 'normal'], env());
    expect(r1.code).toBe(3);
    expect(JSON.parse(r1.stdout).deadLetters).toBe(normal.users.filter((u) => u.bad).length);

    // 2. Braze answers 5xx for a while: retries, some chunks exhausted into dead letters.
    const faulty = writeCsv(dir, 3000, 42, 0);
    emails.push(...faulty.users.map((u) => String(u.attributes['email'])));
    emu.setFaults({ failRate: 1, seed: 7 });
    const child = startCli(
      ['run', faulty.path, '--json', '--run-id', 'faults', '--concurrency', '4'],
      env({ BRAZE_RETRY_ATTEMPTS: '2', BRAZE_RETRY_BASE_MS: '20' }),
    );
    const deadline = Date.now() + 10_000;
    // 48 chunks (3,000 users over 16 lanes, 3 chunks each): more 5xx than chunks means some failed
    // both attempts (exhausted: dead letters with their records); the rest are retried and accepted.
    while (emu.stats().faults.failed < 54 && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 10));
    emu.setFaults({ failRate: 0 });
    const r2 = await child.result;
    results.push({ what: 'run (5xx window)', ...r2 });
    const s2 = JSON.parse(r2.stdout);
    expect(s2.requests.retried).toBeGreaterThan(0);
    expect(s2.objects.accepted + s2.objects.failed).toBe(3000);
    expect(s2.deadLetters).toBeGreaterThan(0);

    // 3. --api-key-file (no BRAZE_API_KEY in the environment), with identifiers redacted in logs.
    const keyFile = join(dir, 'braze.key');
    writeFileSync(keyFile, `${KEY}\n`, { mode: 0o600 });
    const jsonl = writeJsonl(dir, 400, 43, 0.05);
    const r3 = await cli(
      'run --api-key-file',
      ['run', jsonl.path, '--json', '--run-id', 'keyfile', '--api-key-file', keyFile],
      env({ BRAZE_API_KEY: undefined, BRAZE_IMPORT_REDACT_IDS: 'true' }),
    );
    expect(r3.code).toBe(3);
    expect(JSON.parse(r3.stdout).objects.failed).toBe(0);
    redacted.push({ stderr: r3.stderr, ids: jsonl.rows.map((x) => x.user.externalId) });

    // 4. Halted: the emulator expects another key, answers 401; the run stops.
    const halted = writeCsv(dir, 300, 44, 0);
    const r4 = await cli(
      'run (401 halt)',
      ['run', halted.path, '--json', '--run-id', 'halted'],
      env({ BRAZE_REST_ENDPOINT: wrongKeyEmu.url }),
    );
    expect(r4.code).toBe(1);
    expect(JSON.parse(r4.stdout).status).toBe('halted');
    expect(wrongKeyEmu.stats().requests.byStatus['401']).toBeGreaterThan(0);

    // 5. Replay the exhausted letters of the 5xx run (its jobs carry the records again).
    const r5 = await cli(
      'dlq replay',
      ['dlq', 'replay', '--run', 'faults', '--json', '--new-run-id', 'replayed'],
      env(),
    );
    expect(r5.code).toBe(0);

    // 6. Reading state back: list, export (csv, jsonl, file and stdout), status, check.
    for (const run of ['normal', 'faults', 'halted']) {
      await cli(`dlq list ${run}`, ['dlq', 'list', '--run', run], env());
      await cli(`dlq list --json ${run}`, ['dlq', 'list', '--run', run, '--json'], env());
      for (const format of ['csv', 'jsonl']) {
        const out = join(dir, `${run}.${format}`);
        const r = await cli(
          `dlq export ${run} ${format}`,
          ['dlq', 'export', '--run', run, '--format', format, '--out', out],
          env(),
        );
        expect(r.code).toBe(0);
        files.push(out);
      }
    }
    const toStdout = await cli(
      'dlq export stdout',
      ['dlq', 'export', '--run', 'normal', '--format', 'jsonl'],
      env(),
    );
    expect(toStdout.stdout).toContain('_error_code');
    expect(readFileSync(join(dir, 'normal.csv'), 'utf8')).toContain('@example.com');
    for (const run of ['normal', 'faults', 'keyfile', 'halted', 'replayed']) {
      const s = await cli(`status ${run}`, ['status', run, '--json'], env());
      expect(s.code).toBe(0);
    }
    await cli('status --all', ['status', '--all', '--json'], env());
    await cli('status (text)', ['status', 'normal'], env());
    const check = await cli('check', ['check'], env());
    expect(check.code).toBe(0);
    expect(check.stdout).toMatch(/Braze API key:\s+set/);
    const checkFile = await cli(
      'check --api-key-file',
      ['check', '--api-key-file', keyFile],
      env({ BRAZE_API_KEY: undefined }),
    );
    expect(checkFile.code).toBe(0);

    // 7. Errors: a refused endpoint, and a worker pointed at a Redis that is not there.
    const refused = await cli(
      'run (endpoint refused)',
      ['run', normal.path],
      env({ BRAZE_REST_ENDPOINT: 'https://braze.example.com' }),
    );
    expect(refused.code).toBe(2);
    const noRedis = await cli(
      'worker (no redis)',
      ['worker'],
      env({ REDIS_URL: `redis://127.0.0.1:${await freePort()}` }),
    );
    expect(noRedis.code).toBe(2);
  });

  it('the key is in no output, log line, exported file, Redis key or value', async () => {
    expect(results.length).toBeGreaterThan(20);
    for (const r of results) {
      expectNoKey(r.stdout, `stdout of ${r.what}`);
      expectNoKey(r.stderr, `stderr of ${r.what}`);
      expect(r.stderr, `stack trace in ${r.what}`).not.toMatch(/\n\s+at /);
    }
    for (const f of files) expectNoKey(readFileSync(f, 'utf8'), f);

    const { keys, text } = await dumpPrefix(redis, prefix);
    // It really looked at the runs, the dead letters and BullMQ's jobs, failed ones included.
    expect(keys).toEqual(
      expect.arrayContaining([`${prefix}:run:normal`, `${prefix}:dlq:faults`, `${prefix}:runs`]),
    );
    expect(keys.some((k) => k.startsWith(`${prefix}:track.`))).toBe(true);
    expect(text).toContain('@example.com');
    expectNoKey(keys.join('\n'), 'a Redis key name');
    expectNoKey(text, 'a Redis value');
    // Connection names and the like.
    expectNoKey(String(await redis.client('LIST')), 'CLIENT LIST');
  });

  it('logs never print whole records; with redaction not even identifiers', () => {
    expect(emails.length).toBeGreaterThanOrEqual(5000);
    const logs = results.map((r) => r.stderr).join('\n');
    expect(logs.length).toBeGreaterThan(0);
    // Debug logs ran: this is not vacuous.
    expect(logs).toContain('"level":20');
    const emailSet = new Set(emails);
    for (const found of logs.match(/[\w.+-]+@example\.com/g) ?? []) {
      expect(emailSet.has(found), `log line shows the email ${found}`).toBe(false);
    }
    for (const { stderr, ids } of redacted) {
      for (const id of ids) expect(stderr.includes(`"${id}"`), `log shows external id ${id}`).toBe(false);
    }
  });
});

/** A redis-server of our own with extra arguments; resolves once it accepts connections. */
async function spawnRedis(args: string[]): Promise<ChildProcess> {
  const binary = findRedisServer();
  if (!binary) throw new Error('no redis-server');
  const child = spawn(binary, [...args, '--save', '', '--appendonly', 'no', '--bind', '127.0.0.1'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Never outlive the test process, whatever happens to the test.
  const kill = () => child.kill('SIGKILL');
  process.once('exit', kill);
  child.once('exit', () => process.removeListener('exit', kill));
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`redis-server did not start: ${log}`)), 10_000);
    child.stdout?.on('data', (d) => {
      log += d;
      if (log.includes('Ready to accept connections')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`redis-server exited with ${code}: ${log}`));
    });
  });
  return child;
}

function stop(child: ChildProcess | undefined): Promise<void> {
  if (!child || child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    child.once('exit', () => resolve());
    child.kill('SIGTERM');
  });
}

describe('Redis with a password, and over TLS', () => {
  // '@' and ':' must be percent-encoded in the URL; the server gets the decoded password.
  const PASSWORD = `pw@${randomBytes(6).toString('hex')}:x`;
  const encoded = encodeURIComponent(PASSWORD);
  let server: ChildProcess | undefined;
  let port = 0;

  beforeAll(async () => {
    port = await freePort();
    server = await spawnRedis(['--port', String(port), '--requirepass', PASSWORD]);
  });
  afterAll(() => stop(server));

  function authEnv(url: string, extra: Record<string, string> = {}) {
    return cliEnv({
      REDIS_URL: url,
      BRAZE_REST_ENDPOINT: emu.url,
      BRAZE_API_KEY: KEY,
      BRAZE_IMPORT_PREFIX: uniquePrefix('auth'),
      ...extra,
    });
  }

  function expectNoPassword(r: CliResult) {
    for (const text of [r.stdout, r.stderr]) {
      expect(text).not.toContain(PASSWORD);
      expect(text).not.toContain(encoded);
    }
  }

  it('runs an import to completion on redis://:password@host', async () => {
    const e = authEnv(`redis://:${encoded}@127.0.0.1:${port}`);
    const { path, users } = writeCsv(dir, 500, 51, 0);
    const r = await runCli(['run', path, '--json', '--run-id', 'with-password'], e);
    expect(r.stderr).not.toMatch(/"level":(40|50|60)/);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout).objects.accepted).toBe(users.length);
    const status = await runCli(['status', 'with-password', '--json'], e);
    expect(JSON.parse(status.stdout).status).toBe('completed');
    const check = await runCli(['check'], e);
    expect(check.code).toBe(0);
    expect(check.stdout).toContain(`redis://:***@127.0.0.1:${port}`);
    for (const x of [r, status, check]) expectNoPassword(x);
  });

  it('a wrong password: exit 2, one line naming the URL without the password', async () => {
    const wrong = `wrong-${randomBytes(6).toString('hex')}`;
    for (const args of [['check'], ['status']]) {
      const r = await runCli(args, authEnv(`redis://:${wrong}@127.0.0.1:${port}`), { timeoutMs: 30_000 });
      expect(r.code, args.join(' ')).toBe(2);
      expect(r.stderr.trim().split('\n')).toHaveLength(1);
      expect(r.stderr).toContain(`cannot reach Redis at redis://:***@127.0.0.1:${port}`);
      expect(r.stderr).not.toContain(wrong);
      expectNoPassword(r);
    }
  });

  it('rediss:// with a CA given by NODE_EXTRA_CA_CERTS: check and a small import', async (ctx) => {
    const tls = tempDir('bi-tls-');
    try {
      execFileSync(
        'openssl',
        [
          'req',
          '-x509',
          '-newkey',
          'rsa:2048',
          '-nodes',
          '-days',
          '1',
          '-keyout',
          join(tls, 'key.pem'),
          '-out',
          join(tls, 'cert.pem'),
          '-subj',
          '/CN=localhost',
          '-addext',
          'subjectAltName=IP:127.0.0.1,DNS:localhost',
        ],
        { stdio: 'ignore', timeout: 10_000 },
      );
    } catch {
      ctx.skip('openssl cannot make a certificate here');
    }
    const tlsPort = await freePort();
    let tlsServer: ChildProcess | undefined;
    try {
      tlsServer = await spawnRedis([
        '--port',
        '0',
        '--tls-port',
        String(tlsPort),
        '--tls-cert-file',
        join(tls, 'cert.pem'),
        '--tls-key-file',
        join(tls, 'key.pem'),
        '--tls-ca-cert-file',
        join(tls, 'cert.pem'),
        '--tls-auth-clients',
        'no',
        '--requirepass',
        PASSWORD,
      ]);
    } catch {
      ctx.skip('this redis-server has no TLS support');
    }
    try {
      const url = `rediss://:${encoded}@127.0.0.1:${tlsPort}`;
      const e = authEnv(url, { NODE_EXTRA_CA_CERTS: join(tls, 'cert.pem') });
      const check = await runCli(['check'], e, { timeoutMs: 30_000 });
      expect(check.stderr).not.toMatch(/"level":(40|50|60)/);
      expect(check.code).toBe(0);
      expect(check.stdout).toContain(`rediss://:***@127.0.0.1:${tlsPort}`);
      const { path, users } = writeCsv(dir, 200, 52, 0);
      const r = await runCli(['run', path, '--json', '--run-id', 'over-tls'], e);
      expect(r.code).toBe(0);
      expect(JSON.parse(r.stdout).objects.accepted).toBe(users.length);
      for (const x of [check, r]) expectNoPassword(x);
      // Without the CA the certificate is refused: one line, exit 2, no password.
      const untrusted = await runCli(['check'], authEnv(url), { timeoutMs: 30_000 });
      expect(untrusted.code).toBe(2);
      expect(untrusted.stderr.trim().split('\n')).toHaveLength(1);
      expectNoPassword(untrusted);
    } finally {
      await stop(tlsServer);
    }
  });
});
