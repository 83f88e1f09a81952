import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';
import { notifyRunEnd } from '../../src/notify/notify.js';
import { runCli, startCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { writeCsv } from '../helpers/files.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'notify-test-key';
const env = useEmulator(KEY);

/** A local webhook receiver: records what it is sent, answers with `status`. */
interface Receiver {
  url: string;
  got: Array<{ path: string; type: string | undefined; body: Record<string, unknown> }>;
  status: number;
  server: Server;
}
let receiver: Receiver;

async function listen(): Promise<Receiver> {
  const r = { got: [], status: 200 } as unknown as Receiver;
  r.server = createServer((req: IncomingMessage, res) => {
    let text = '';
    req.on('data', (d) => (text += d));
    req.on('end', () => {
      r.got.push({
        path: req.url ?? '',
        type: req.headers['content-type'],
        body: JSON.parse(text) as Record<string, unknown>,
      });
      res.writeHead(r.status).end();
    });
  });
  await new Promise<void>((resolve) => r.server.listen(0, '127.0.0.1', resolve));
  r.url = `http://127.0.0.1:${(r.server.address() as AddressInfo).port}`;
  return r;
}

beforeAll(async () => {
  receiver = await listen();
});
afterAll(() => new Promise<void>((resolve) => receiver.server.close(() => resolve())));

describe('run --notify', () => {
  it('posts the run summary with a Slack-compatible text when the run ends', async () => {
    const { path } = writeCsv(env.dir, 300, 61, 0.05);
    receiver.got.length = 0;
    const r = await runCli(
      ['run', path, '--json', '--run-id', 'notified', '--notify', `${receiver.url}/hooks/T0/B0/s3cret`],
      env.env(),
    );
    expect(r.code).toBe(3);
    const summary = JSON.parse(r.stdout) as Record<string, unknown>;
    expect(receiver.got).toHaveLength(1);
    const [got] = receiver.got;
    expect(got?.path).toBe('/hooks/T0/B0/s3cret');
    expect(got?.type).toBe('application/json');
    const { text, ...rest } = got?.body ?? {};
    expect(rest).toEqual(summary);
    expect(text).toMatch(
      /^:warning: braze-import run notified \(.*\.csv\) completed_with_errors: 300 rows read, /,
    );
    // The receiver's path is its secret: the log names its origin only.
    expect(r.stderr).toContain('run notification sent');
    expect(r.stderr).not.toContain('s3cret');
  });

  it('takes BRAZE_IMPORT_NOTIFY_URL, and a receiver that fails changes nothing but a warning', async () => {
    const { path } = writeCsv(env.dir, 50, 62, 0);
    receiver.got.length = 0;
    receiver.status = 500;
    const refused = await runCli(
      ['run', path, '--json', '--run-id', 'notify-refused'],
      env.env({ BRAZE_IMPORT_NOTIFY_URL: `${receiver.url}/x` }),
    );
    receiver.status = 200;
    expect(refused.code).toBe(0);
    expect(receiver.got).toHaveLength(1);
    expect(refused.stderr).toMatch(
      /run notification refused by its receiver.*"status":500|"status":500.*run notification refused/,
    );
    // Nobody listening: the run's outcome and exit code are its own.
    const { path: other } = writeCsv(env.dir, 50, 63, 0);
    const gone = await runCli(
      ['run', other, '--json', '--run-id', 'notify-gone', '--notify', 'http://127.0.0.1:9/hook'],
      env.env(),
    );
    expect(gone.code).toBe(0);
    expect(JSON.parse(gone.stdout)).toMatchObject({ status: 'completed' });
    expect(gone.stderr).toContain('run notification could not be sent');
  });

  it('refuses a plain-http URL off loopback before reading anything, without quoting it', async () => {
    const { path } = writeCsv(env.dir, 10, 64, 0);
    const r = await runCli(['run', path, '--notify', 'http://hooks.example.com/T/secret-path'], env.env());
    expect(r.code).toBe(2);
    expect(r.stderr.trim()).toBe('braze-import: --notify: must use https (plain http only to loopback)');
  });
});

describe('worker --notify: enqueue-only runs', () => {
  it('refuses run --enqueue-only --notify with one line: the run ends in the workers', async () => {
    const { path } = writeCsv(env.dir, 10, 65, 0);
    const r = await runCli(['run', path, '--enqueue-only', '--notify', `${receiver.url}/x`], env.env());
    expect(r.code).toBe(2);
    expect(r.stderr.trim().split('\n')).toHaveLength(1);
    expect(r.stderr).toContain('--notify with --enqueue-only: the run ends in the workers');
  });

  it('one of two workers posts the summary of a run it finds completed, once', async () => {
    const { path } = writeCsv(env.dir, 400, 66, 0);
    receiver.got.length = 0;
    const e = env.env({ LOG_LEVEL: 'warn' });
    const workers = [1, 2].map(() => startCli(['worker', '--notify', `${receiver.url}/fleet`], e));
    try {
      const r = await runCli(['run', path, '--enqueue-only', '--json', '--run-id', 'fleet-notified'], e);
      expect(r.code, r.stderr).toBe(0);
      await waitFor(async () => receiver.got.length > 0, 60_000, 50);
      // Both workers look for finished runs every second: a second post would come within two looks.
      await new Promise((resolve) => setTimeout(resolve, 2500));
      expect(receiver.got).toHaveLength(1);
      const [got] = receiver.got;
      expect(got?.path).toBe('/fleet');
      expect(got?.body).toMatchObject({
        runId: 'fleet-notified',
        status: 'completed',
        objects: { accepted: 400, notAttempted: 0 },
      });
      expect(got?.body['text']).toMatch(
        /^:white_check_mark: braze-import run fleet-notified \(.*\) completed: 400 rows read/,
      );
    } finally {
      for (const w of workers) w.kill('SIGTERM');
      await Promise.all(workers.map((w) => w.result));
    }
  }, 120_000);
});

describe('notifyRunEnd', () => {
  it('never throws and says whether it delivered, within its timeout', async () => {
    const lines: string[] = [];
    const log = createLogger({
      level: 'info',
      format: 'json',
      destination: { write: (l: string) => lines.push(l) },
    });
    const summary = {
      runId: 'r',
      status: 'halted',
      source: 'a.csv',
      rows: { read: 0, valid: 0, rejected: 0 },
      objects: { total: 0, sent: 0, accepted: 0, failed: 0, notAttempted: 0 },
      requests: { sent: 1, retried: 0, rateLimited: 0 },
      deadLetters: 0,
      estimatedDataPoints: 0,
      possibleDuplicates: 0,
      durationMs: 5,
    } as const;
    receiver.got.length = 0;
    expect(await notifyRunEnd(`${receiver.url}/ok`, summary, log)).toBe(true);
    expect(receiver.got[0]?.body['text']).toMatch(/^:octagonal_sign: braze-import run r \(a\.csv\) halted/);
    // A receiver that never answers: given up after the timeout.
    const silent = createServer(() => {});
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    try {
      const url = `http://127.0.0.1:${(silent.address() as AddressInfo).port}/slow`;
      expect(await notifyRunEnd(url, summary, log, { timeoutMs: 200 })).toBe(false);
    } finally {
      silent.closeAllConnections();
      silent.close();
    }
    expect(lines.join('\n')).toContain('run notification could not be sent');
  });
});
