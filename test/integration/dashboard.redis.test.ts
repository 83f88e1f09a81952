import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DashboardAuth, parseDashboardEnv } from '../../schemas/dashboard.js';
import type { TrackJobData, TrackQueueData } from '../../schemas/track.js';
import { isLoopbackHost } from '../../src/dashboard/auth.js';
import { summarizeJobData } from '../../src/dashboard/job-summary.js';
import type { RunningDashboard } from '../../src/dashboard/server.js';
import { createTrackQueue, trackJobId, trackQueueName } from '../../src/infra/queues.js';
import { createRunStore, type RunStore } from '../../src/runs/store.js';
import { basic, request, useDashboards } from '../helpers/dashboard.js';
import { runStart } from '../helpers/factories.js';
import { deletePrefix, testRedis, uniquePrefix } from '../helpers/redis.js';

const EMAIL = 'ada.lovelace@example.com';
const SURNAME = 'Lovelace';
const RUN_ID = 'run-dashboard-test';
const TRACK_QUEUE = trackQueueName(RUN_ID);
const AUTH: DashboardAuth = { user: 'ops', password: 'correct horse battery staple' };

const BODY = (n: number) => ({
  attributes: [
    { external_id: `u${n}-1`, email: EMAIL, first_name: 'Ada', last_name: SURNAME },
    { external_id: `u${n}-2`, email: `grace.${n}@example.com`, first_name: 'Grace' },
  ],
  events: [{ external_id: `u${n}-1`, name: 'signed_up', time: '2024-01-01T00:00:00Z' }],
});

function chunk(n: number, part = ''): TrackJobData {
  return {
    v: 1,
    runId: RUN_ID,
    chunk: n,
    part,
    lane: 0,
    seq: 0,
    needs: -1,
    body: JSON.stringify(BODY(n)),
    objects: 3,
    lines: { attributes: [[10 * n + 2], [10 * n + 3, 10 * n + 5]], events: [10 * n + 4], purchases: [] },
  };
}

const get = (server: RunningDashboard, path: string, init: RequestInit = {}) => request(server, path, init);

interface QueuesBody {
  queues: Array<{
    name: string;
    readOnlyMode: boolean;
    counts: Record<string, number>;
    jobs: Array<{ id: string; data: unknown; returnValue: unknown }>;
  }>;
}

let redis: Redis;
let prefix: string;
let queue: Queue<TrackQueueData>;
let runs: RunStore;
const dashboards = useDashboards();

function start(
  options: { auth?: DashboardAuth; allowActions?: boolean; ping?: () => Promise<unknown> } = {},
) {
  return dashboards({ redis, prefix, runs, queues: [queue], ...options });
}

beforeAll(async () => {
  redis = testRedis();
  prefix = uniquePrefix('dash');
  queue = createTrackQueue(redis, prefix, RUN_ID);
  runs = createRunStore(redis, prefix, 86_400_000);
  for (const data of [chunk(0), chunk(1)]) await queue.add('track', data, { jobId: trackJobId(data) });
  await runs.create(RUN_ID, runStart('users.csv'));
  await runs.incr(RUN_ID, { rowsRead: 6, rowsValid: 6, chunks: 2, objects: 6 });
});

afterAll(async () => {
  await queue.close();
  await deletePrefix(redis, prefix);
  await redis.quit();
});

describe('dashboard: bull-board over the track queue', () => {
  it('lists the queue with its counts, read-only, and job data only as a summary', async () => {
    const server = await start();
    const res = await get(server, `/queues/api/queues?activeQueue=${TRACK_QUEUE}&status=waiting`);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text) as QueuesBody;
    const q = body.queues.find((x) => x.name === TRACK_QUEUE);
    expect(q).toBeDefined();
    expect(q?.counts['waiting']).toBe(2);
    expect(q?.readOnlyMode).toBe(true);
    expect(q?.jobs.map((j) => j.id).sort()).toEqual([trackJobId(chunk(0)), trackJobId(chunk(1))]);
    expect(q?.jobs.find((j) => j.id === trackJobId(chunk(1)))?.data).toEqual({
      runId: RUN_ID,
      chunk: 1,
      part: '',
      objects: { attributes: 2, events: 1, purchases: 0, total: 3 },
      bodyBytes: Buffer.byteLength(JSON.stringify(BODY(1))),
      sourceLines: { first: 12, last: 15 },
    });
    // The personal data is in Redis (the job) but not in what the dashboard serves.
    expect(JSON.stringify((await queue.getJob(trackJobId(chunk(0))))?.data)).toContain(EMAIL);
    expect(res.text).not.toContain(EMAIL);
    expect(res.text).not.toContain(SURNAME);
    expect(res.text).not.toContain('@example.com');
  });

  it('serves one job without its user records', async () => {
    const server = await start();
    const res = await get(server, `/queues/api/queues/${TRACK_QUEUE}/${trackJobId(chunk(0))}`);
    expect(res.status).toBe(200);
    const body = JSON.parse(res.text) as { job: { id: string; data: unknown }; status: string };
    expect(body.status).toBe('waiting');
    expect(body.job.data).toMatchObject({ runId: RUN_ID, chunk: 0, objects: { total: 3 } });
    expect(res.text).not.toContain(EMAIL);
    expect(res.text).not.toContain(SURNAME);
  });

  it('serves the UI at /queues', async () => {
    const server = await start();
    const res = await get(server, '/queues');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/text\/html/);
    expect(res.text).toContain('braze-import');
  });

  it('refuses actions in read-only mode', async () => {
    const server = await start();
    const id = trackJobId(chunk(0));
    const res = await get(server, `/queues/api/queues/${TRACK_QUEUE}/${id}/clean`, { method: 'PUT' });
    expect(res.status).toBe(403);
    expect(await queue.getJob(id)).toBeDefined();
  });

  it('with --allow-actions removes failed jobs, but never waiting ones, and never edits or adds job data', async () => {
    const extra = chunk(7, '.r');
    await queue.add('track', extra, { jobId: trackJobId(extra) });
    const server = await start({ allowActions: true });
    const base = `/queues/api/queues/${TRACK_QUEUE}`;
    const json = { 'content-type': 'application/json' };
    const edit = await get(server, `${base}/${trackJobId(extra)}/update-data`, {
      method: 'PATCH',
      headers: json,
      body: JSON.stringify({ data: { runId: RUN_ID } }),
    });
    expect(edit.status).toBe(403);
    const add = await get(server, `${base}/add`, {
      method: 'POST',
      headers: json,
      body: JSON.stringify({ name: 'track', data: {} }),
    });
    expect(add.status).toBe(403);
    expect((await queue.getJob(trackJobId(extra)))?.data).toEqual(extra);
    // A waiting chunk belongs to a run that counts on it: removing it would leave the run "sending" forever.
    const waiting = await get(server, `${base}/${trackJobId(extra)}/clean`, { method: 'PUT' });
    expect(waiting.status).toBe(403);
    expect(await queue.getJob(trackJobId(extra))).toBeDefined();
    // A failed one can go.
    // BullMQ fails a job only from a worker holding its lock; moved by hand, as a worker would leave it.
    await redis.lrem(`${prefix}:${TRACK_QUEUE}:wait`, 0, trackJobId(extra));
    await redis.zadd(`${prefix}:${TRACK_QUEUE}:failed`, Date.now(), trackJobId(extra));
    expect(await queue.getJobState(trackJobId(extra))).toBe('failed');
    const clean = await get(server, `${base}/${trackJobId(extra)}/clean`, { method: 'PUT' });
    expect(clean.status).toBeLessThan(300);
    expect(await queue.getJob(trackJobId(extra))).toBeUndefined();
    expect(await queue.getWaitingCount()).toBe(2);
  });
});

describe('dashboard: runs API', () => {
  it('lists recent runs as summaries', async () => {
    const server = await start();
    const res = await get(server, '/api/runs');
    expect(res.status).toBe(200);
    expect(res.headers.get('cache-control')).toBe('no-store');
    const body = JSON.parse(res.text) as { runs: Array<{ runId: string; status: string; rows: unknown }> };
    expect(body.runs).toHaveLength(1);
    expect(body.runs[0]).toMatchObject({
      runId: RUN_ID,
      status: 'reading',
      source: 'users.csv',
      rows: { read: 6, valid: 6, rejected: 0 },
      objects: { total: 6, notAttempted: 6 },
    });
  });

  it('answers one run, 404 for an unknown one, 400 for a bad limit', async () => {
    const server = await start();
    const one = await get(server, `/api/runs/${RUN_ID}`);
    expect(one.status).toBe(200);
    expect(JSON.parse(one.text)).toMatchObject({ runId: RUN_ID, source: 'users.csv' });
    expect((await get(server, '/api/runs/run-nope')).status).toBe(404);
    expect((await get(server, '/api/runs/..%2F..')).status).toBe(404);
    expect((await get(server, '/api/runs?limit=abc')).status).toBe(400);
    expect((await get(server, '/api/nothing-here')).status).toBe(404);
  });
});

describe('dashboard: /healthz', () => {
  it('answers ok after a Redis PING, 503 when Redis does not answer', async () => {
    const up = await start();
    const ok = await get(up, '/healthz');
    expect(ok.status).toBe(200);
    expect(JSON.parse(ok.text)).toEqual({ ok: true });
    const down = await start({ ping: () => new Promise(() => {}) });
    const bad = await get(down, '/healthz');
    expect(bad.status).toBe(503);
    expect(JSON.parse(bad.text)).toMatchObject({ ok: false });
  });
});

describe('dashboard: basic auth', () => {
  it('requires the credentials on the UI and every API, but not on /healthz', async () => {
    for (const path of ['/', '/api/runs', '/metrics', `/queues/api/queues?activeQueue=${TRACK_QUEUE}`]) {
      // A server per path: more than a few wrong passwords from one client start its backoff.
      const server = await start({ auth: AUTH });
      const anonymous = await get(server, path);
      expect(anonymous.status, path).toBe(401);
      expect(anonymous.headers.get('www-authenticate')).toMatch(/^Basic realm="/);
      const wrong = await get(server, path, {
        headers: { authorization: basic({ ...AUTH, password: 'guess' }) },
      });
      expect(wrong.status, path).toBe(401);
      const wrongUser = await get(server, path, {
        headers: { authorization: basic({ ...AUTH, user: 'x' }) },
      });
      expect(wrongUser.status, path).toBe(401);
      const ok = await get(server, path, { headers: { authorization: basic(AUTH) } });
      expect(ok.status, path).toBe(200);
    }
    const server = await start({ auth: AUTH });
    expect((await get(server, '/healthz')).status).toBe(200);
    expect((await get(server, '/api/runs', { headers: { authorization: 'Basic !!!' } })).status).toBe(401);
    expect((await get(server, '/api/runs', { headers: { authorization: 'Bearer x' } })).status).toBe(401);
  });
});

describe('dashboard: pure helpers', () => {
  it('knows loopback hosts', () => {
    for (const h of [
      '127.0.0.1',
      '127.1.2.3',
      'localhost',
      '::1',
      '[::1]',
      '0:0:0:0:0:0:0:1',
      '::ffff:127.0.0.1',
    ])
      expect(isLoopbackHost(h), h).toBe(true);
    for (const h of ['0.0.0.0', '::', '10.0.0.1', '128.0.0.1', 'example.com', '::ffff:10.0.0.1', '1::1'])
      expect(isLoopbackHost(h), h).toBe(false);
  });

  it('reads credentials from an environment object: both or neither, never echoing them', () => {
    expect(parseDashboardEnv({})).toEqual({ ok: true, auth: undefined });
    expect(parseDashboardEnv({ DASHBOARD_USER: '', DASHBOARD_PASSWORD: '' })).toEqual({
      ok: true,
      auth: undefined,
    });
    expect(parseDashboardEnv({ DASHBOARD_USER: 'a', DASHBOARD_PASSWORD: 'pw-secret-long' })).toEqual({
      ok: true,
      auth: { user: 'a', password: 'pw-secret-long' },
    });
    const half = parseDashboardEnv({ DASHBOARD_PASSWORD: 'pw-secret-long' });
    expect(half).toEqual({ ok: false, problems: [expect.stringMatching(/^DASHBOARD_USER: not set/)] });
    expect(JSON.stringify(half)).not.toContain('pw-secret');
    expect(parseDashboardEnv({ DASHBOARD_USER: 'a:b', DASHBOARD_PASSWORD: 'pw-secret-long' })).toMatchObject({
      ok: false,
    });
    // A password guessed in a few tries is refused, without quoting it.
    const short = parseDashboardEnv({ DASHBOARD_USER: 'a', DASHBOARD_PASSWORD: 'x1' });
    expect(short).toEqual({
      ok: false,
      problems: [expect.stringMatching(/^DASHBOARD_PASSWORD: must be at least 12 characters/)],
    });
    expect(JSON.stringify(short)).not.toContain('x1');
  });

  it('summarizes odd job data without passing anything through', () => {
    expect(summarizeJobData(null)).toEqual({
      runId: null,
      chunk: null,
      part: null,
      objects: { attributes: 0, events: 0, purchases: 0, total: 0 },
      bodyBytes: null,
      sourceLines: null,
    });
    const odd = summarizeJobData({ runId: EMAIL, chunk: '1', part: EMAIL, body: { attributes: 'x' } });
    expect(JSON.stringify(odd)).not.toContain(EMAIL);
    // A job queued by an older version, with the body as an object.
    const old = summarizeJobData({ ...chunk(2), body: BODY(2), objects: undefined });
    expect(old.objects).toEqual({ attributes: 2, events: 1, purchases: 0, total: 3 });
    expect(JSON.stringify(old)).not.toContain(EMAIL);
  });

  it('summarizes a job holding a group of chunks as the sums of its chunks', () => {
    const a = { ...chunk(2), body: BODY(2), objects: undefined };
    const b = { ...chunk(3), body: BODY(3), objects: undefined };
    const one = summarizeJobData(a);
    const two = summarizeJobData(b);
    const group = summarizeJobData({ v: 3, runId: a.runId, chunks: [a, b, { leaked: EMAIL }] });
    expect(group.chunks).toBe(3);
    expect(group.runId).toBe(one.runId);
    expect(group.objects.total).toBe(one.objects.total + two.objects.total);
    expect(group.objects.attributes).toBe(4);
    expect(JSON.stringify(group)).not.toContain(EMAIL);
  });
});
