import { request as httpRequest } from 'node:http';
import type { Queue } from 'bullmq';
import { beforeAll, describe, expect, it } from 'vitest';
import type { TrackJobData, TrackQueueData } from '../../schemas/track.js';
import { FREE_FAILURES } from '../../src/dashboard/auth.js';
import type { RunningDashboard } from '../../src/dashboard/server.js';
import { createLogger } from '../../src/infra/logger.js';
import { createTrackQueue, trackJobId, trackQueueName } from '../../src/infra/queues.js';
import { createRunStore, type RunStore } from '../../src/runs/store.js';
import { basic, request, useDashboards } from '../helpers/dashboard.js';
import { runStart } from '../helpers/factories.js';
import { useTestRedis } from '../helpers/redis.js';

const RUN = 'run-security';
const AUTH = { user: 'ops', password: 'correct horse battery staple' };
const db = useTestRedis('dash-sec');
const dashboards = useDashboards();
let prefix: string;
let runs: RunStore;
let queue: Queue<TrackQueueData>;

/** node:http, because fetch will not send a Host header of our choosing. */
function raw(
  server: RunningDashboard,
  path: string,
  o: { method?: string; headers?: Record<string, string> } = {},
) {
  return new Promise<{ status: number; body: string }>((resolve, reject) => {
    const req = httpRequest(
      `${server.url}${path}`,
      { method: o.method ?? 'GET', headers: o.headers },
      (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.end();
  });
}

const start = (
  o: { allowActions?: boolean; auth?: typeof AUTH; now?: () => number; lines?: string[] } = {},
) =>
  dashboards({
    redis: db.redis(),
    prefix,
    runs,
    queues: [queue],
    allowActions: o.allowActions,
    auth: o.auth,
    now: o.now,
    log: o.lines
      ? createLogger({
          level: 'info',
          format: 'json',
          destination: { write: (l: string) => o.lines?.push(l) },
        })
      : undefined,
  });

beforeAll(async () => {
  prefix = db.prefix();
  runs = createRunStore(db.redis(), prefix, 86_400_000);
  queue = createTrackQueue(db.redis(), prefix, RUN);
  await runs.create(RUN, runStart('/srv/imports/secret-folder/users.csv', { mode: 'fleet' }));
  const data: TrackJobData = {
    v: 1,
    runId: RUN,
    chunk: 0,
    part: '',
    lane: 0,
    seq: 0,
    needs: -1,
    body: '{"attributes":[{"external_id":"u1"}]}',
    objects: 1,
    lines: { attributes: [[2]], events: [], purchases: [] },
  };
  await queue.add('track', data, { jobId: trackJobId(data) });
  return () => queue.close();
});

describe('dashboard security: headers', () => {
  it('no page can be framed, nothing is sniffed, data is not stored, no X-Powered-By', async () => {
    const server = await start();
    for (const path of [
      '/',
      `/runs/${RUN}`,
      '/api/runs',
      '/metrics',
      '/queues',
      '/queues/api/queues',
      '/nothing',
    ]) {
      const res = await request(server, path);
      expect(res.headers.get('x-frame-options'), path).toBe('DENY');
      expect(res.headers.get('content-security-policy'), path).toContain("frame-ancestors 'none'");
      expect(res.headers.get('content-security-policy'), path).toContain("script-src 'self'");
      expect(res.headers.get('x-content-type-options'), path).toBe('nosniff');
      expect(res.headers.get('x-powered-by'), path).toBeNull();
      if (path !== '/queues' && path !== '/nothing')
        expect(res.headers.get('cache-control'), path).toBe('no-store');
    }
    const queuesPage = await request(server, '/queues');
    expect(queuesPage.text).toContain('/queues/');
    expect(queuesPage.text).not.toMatch(/fonts\.(googleapis|gstatic)\.com/);
  });

  it('never shows the server path of an input, only its file name', async () => {
    const server = await start();
    for (const path of ['/', `/runs/${RUN}`, '/api/runs', `/api/runs/${RUN}`]) {
      const res = await request(server, path);
      expect(res.text, path).toContain('users.csv');
      expect(res.text, path).not.toContain('secret-folder');
    }
  });
});

describe('dashboard security: Host and Origin', () => {
  it('refuses a Host it does not serve (DNS rebinding), on every route but /healthz', async () => {
    const server = await start({ allowActions: true });
    for (const path of ['/', '/api/runs', '/queues/api/queues', '/metrics']) {
      expect((await raw(server, path, { headers: { host: 'rebind.evil.example' } })).status, path).toBe(421);
      expect((await raw(server, path, { headers: { host: `localhost:${server.port}` } })).status, path).toBe(
        200,
      );
    }
    const pause = await raw(server, `/runs/${RUN}/pause`, {
      method: 'POST',
      headers: { host: 'rebind.evil.example:80' },
    });
    expect(pause.status).toBe(421);
    expect(await queue.isPaused()).toBe(false);
    expect((await raw(server, '/healthz', { headers: { host: '10.1.2.3:3000' } })).status).toBe(200);
  });

  it('refuses writes from another origin or site, and takes them from its own', async () => {
    const server = await start({ allowActions: true });
    const form = { 'content-type': 'application/x-www-form-urlencoded' };
    const foreign = await request(server, `/runs/${RUN}/pause`, {
      method: 'POST',
      headers: { ...form, origin: 'http://evil.example' },
    });
    expect(foreign.status).toBe(403);
    const crossSite = await request(server, `/runs/${RUN}/pause`, {
      method: 'POST',
      headers: { ...form, 'sec-fetch-site': 'cross-site' },
    });
    expect(crossSite.status).toBe(403);
    const nullOrigin = await request(server, `/runs/${RUN}/pause`, {
      method: 'POST',
      headers: { ...form, origin: 'null' },
    });
    expect(nullOrigin.status).toBe(403);
    expect(await queue.isPaused()).toBe(false);
    const own = await request(server, `/runs/${RUN}/pause`, {
      method: 'POST',
      headers: { ...form, origin: server.url, 'sec-fetch-site': 'same-origin' },
    });
    expect(own.status).toBe(303);
    expect(own.headers.get('location')).toBe(`/runs/${RUN}?done=paused`);
    expect(await queue.isPaused()).toBe(true);
    const resume = await request(server, `/runs/${RUN}/resume`, {
      method: 'POST',
      headers: { ...form, origin: server.url },
    });
    expect(resume.status).toBe(303);
    expect(await queue.isPaused()).toBe(false);
  });
});

describe('dashboard security: bull-board', () => {
  const base = `/queues/api/queues/${trackQueueName(RUN)}`;

  it("refuses empty, obliterate, concurrency, rate-limit and Redis's details even with --allow-actions", async () => {
    const server = await start({ allowActions: true });
    const json = { 'content-type': 'application/json' };
    const refused: Array<[string, string, string?]> = [
      ['PUT', `${base}/empty`],
      ['PUT', `${base}/obliterate`, '{}'],
      ['PUT', `${base}/concurrency`, '{"concurrency":1000}'],
      ['PUT', `${base}/rate-limit`, '{"max":1,"duration":1000}'],
      ['PUT', `${base}/rate-limit/release`],
      ['PUT', `${base}/clean/wait`],
      ['PUT', '/queues/api/queues/pause'],
      ['GET', '/queues/api/redis/stats'],
      ['GET', `${base}/workers`],
    ];
    for (const [method, path, body] of refused) {
      const res = await request(server, path, { method, headers: json, body });
      expect(res.status, `${method} ${path}`).toBe(403);
    }
    expect(await queue.getWaitingCount()).toBe(1);
    expect(await db.redis().exists(`${prefix}:${trackQueueName(RUN)}:meta`)).toBe(1);
  });

  it("routes bull-board's pause and resume through the run logic, which refuses a run that is not live", async () => {
    const server = await start({ allowActions: true });
    expect((await request(server, `${base}/pause`, { method: 'PUT' })).status).toBe(200);
    expect(await queue.isPaused()).toBe(true);
    expect((await request(server, `/api/runs/${RUN}`)).text).toContain('"paused":true');
    expect((await request(server, `${base}/resume`, { method: 'PUT' })).status).toBe(200);
    expect(await queue.isPaused()).toBe(false);
    // A halted run's queue stays paused: resuming it here would send chunks of a run recorded as stopped.
    await runs.stop(RUN, 'halted', 'Braze answered 401 {"message":"Invalid API Key"}: check BRAZE_API_KEY');
    await queue.pause();
    const resume = await request(server, `${base}/resume`, { method: 'PUT' });
    expect(resume.status).toBe(409);
    expect(resume.text).toContain('--resume');
    expect(await queue.isPaused()).toBe(true);
    expect((await runs.get(RUN))?.status).toBe('halted');
    const page = await request(server, `/runs/${RUN}`);
    expect(page.text).toContain('Braze answered 401: check BRAZE_API_KEY');
    expect(page.text).not.toContain('Invalid API Key');
  });

  it('shows failed chunks without stack traces or Braze answers', async () => {
    const server = await start();
    const failed: TrackJobData = {
      v: 1,
      runId: RUN,
      chunk: 9,
      part: '',
      lane: 0,
      seq: 1,
      needs: -1,
      body: '{}',
      objects: 1,
      lines: { attributes: [[9]], events: [], purchases: [] },
    };
    const id = trackJobId(failed);
    await queue.add('track', failed, { jobId: id });
    // As a worker leaves a failed job: its reason with Braze's answer and a stack trace with paths.
    await db.redis().lrem(`${prefix}:${trackQueueName(RUN)}:wait`, 0, id);
    await db.redis().zadd(`${prefix}:${trackQueueName(RUN)}:failed`, Date.now(), id);
    await db.redis().hset(`${prefix}:${trackQueueName(RUN)}:${id}`, {
      failedReason: 'HTTP 500 {"message":"internal","email":"ada@example.com"}',
      stacktrace: JSON.stringify(['Error: HTTP 500\n    at send (/srv/app/dist/bundle/cli.js:1:2)']),
    });
    const list = await request(server, `/queues/api/queues?activeQueue=${trackQueueName(RUN)}&status=failed`);
    const one = await request(server, `${base}/${id}`);
    for (const res of [list, one]) {
      expect(res.status).toBe(200);
      expect(res.text).toContain("HTTP 500 (Braze's answer is not shown here)");
      expect(res.text).not.toContain('ada@example.com');
      expect(res.text).not.toContain('/srv/app');
    }
  });
});

describe('dashboard security: logins', () => {
  it('logs failures and makes a client wait after a few, even with the right password', async () => {
    let clock = 1_000_000;
    const lines: string[] = [];
    const server = await start({ auth: AUTH, now: () => clock, lines });
    const wrong = { headers: { authorization: basic({ ...AUTH, password: 'wrong-guess-123' }) } };
    const right = { headers: { authorization: basic(AUTH) } };
    for (let i = 0; i < FREE_FAILURES; i++)
      expect((await request(server, '/api/runs', wrong)).status).toBe(401);
    expect((await request(server, '/api/runs', wrong)).status).toBe(401);
    const waiting = await request(server, '/api/runs', right);
    expect(waiting.status).toBe(429);
    expect(Number(waiting.headers.get('retry-after'))).toBeGreaterThan(0);
    // No credentials is not a failure, and shows no backoff either way: still 429 while waiting.
    expect((await request(server, '/api/runs')).status).toBe(429);
    clock += 60_000;
    expect((await request(server, '/api/runs', right)).status).toBe(200);
    // A success clears the record: the next wrong password is a plain 401 again.
    expect((await request(server, '/api/runs', wrong)).status).toBe(401);
    const failures = lines.filter((l) => l.includes('failed login'));
    expect(failures).toHaveLength(FREE_FAILURES + 2);
    expect(failures.join('\n')).toContain('"client":"');
    expect(failures.join('\n')).not.toContain('wrong-guess-123');
  });
});
