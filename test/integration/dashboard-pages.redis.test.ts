import { beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../schemas/dead-letter.js';
import { exportDeadLetters, readDeadLetters } from '../../src/dead-letter/export.js';
import { createTrackQueue } from '../../src/infra/queues.js';
import { createRunStore, type RunStore } from '../../src/runs/store.js';
import {
  createScheduleStore,
  createSchedulesQueue,
  removeSchedule,
  saveSchedule,
} from '../../src/sync/schedules.js';
import { request, useDashboards } from '../helpers/dashboard.js';
import { runStart } from '../helpers/factories.js';
import { useTestRedis } from '../helpers/redis.js';

const db = useTestRedis('dash-pages');
const dashboards = useDashboards();
let prefix: string;
let runs: RunStore;
const EVIL = '<script>alert(1)</script>';
/** A file name can hold markup too (but no slash). */
const EVIL_NAME = '<img src=x onerror=alert(1)>';

function letter(
  line: number,
  code: string,
  values: Record<string, string>,
  extra: Partial<DeadLetter> = {},
): string {
  const dl: DeadLetter = {
    runId: 'r',
    source: '',
    line,
    stage: 'rejected',
    code,
    message: `${code}: ${values['email'] ?? ''}`,
    record: { format: 'csv', values },
    at: 1,
    ...extra,
  };
  return JSON.stringify(dl);
}

const start = (allowActions = false) => dashboards({ redis: db.redis(), prefix, runs, allowActions });

beforeAll(async () => {
  prefix = db.prefix();
  runs = createRunStore(db.redis(), prefix, 86_400_000);
  // A finished run with letters of two codes; the id column is "uid", and a hostile file name.
  await runs.create('run-done', runStart(`/data/${EVIL_NAME}.csv`, { idColumn: 'uid' }));
  const rejected = Array.from({ length: 7 }, (_, i) => ({
    line: i + 2,
    text: letter(i + 2, i < 6 ? 'bad_email' : 'missing_external_id', {
      uid: i < 6 ? `u-${i}${i === 0 ? EVIL : ''}` : '',
      email: `person${i}@example.com`,
    }),
  }));
  await runs.producerBatch(
    'run-done',
    0,
    { rowsRead: 20, rowsValid: 13, rowsRejected: 7, objects: 13, chunks: 1, jobsOpen: 1 },
    rejected,
  );
  await runs.settle(
    'run-done',
    'run-done-0',
    {
      objectsAccepted: 12,
      objectsFailed: 1,
      deadLetters: 1,
      requestsSent: 3,
      requestsRateLimited: 1,
      requestsRetried: 1,
      jobsOpen: -1,
    },
    [
      letter(
        30,
        'http_400',
        { uid: 'u-30', email: 'x@example.com' },
        { stage: 'braze', maybeDelivered: true },
      ),
    ],
  );
  await runs.markProducerDone('run-done');
  // A live fleet run, to pause and cancel.
  await runs.create('run-live', runStart('live.csv', { mode: 'fleet' }));
  await runs.incr('run-live', { rowsRead: 100, objects: 100, chunks: 2, jobsOpen: 2, bytesRead: 500 });
  await runs.set('run-live', { inputBytes: 1000 });
});

describe('dashboard pages', () => {
  it('/ lists runs with their counts, escaped, and an empty schedules section', async () => {
    const server = await start();
    const res = await request(server, '/');
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^text\/html/);
    expect(res.text).not.toContain(EVIL_NAME);
    expect(res.text).toContain('&lt;img src=x onerror=alert(1)&gt;.csv');
    expect(res.text).toContain('data-run="run-done"');
    expect(res.text).toMatch(/data-field="status">completed_with_errors</);
    expect(res.text).toMatch(/data-field="read">50%</);
    expect(res.text).toContain('<h2>Schedules</h2>');
    expect(res.text).toContain('No schedules.');
    // Live pages load our one script; nothing inline.
    expect(res.text).toContain('<script defer src="/static/live.js"></script>');
    expect(res.text).not.toMatch(/<script>/);
  });

  it('/ lists the schedules of every destination with their rule and next firing', async () => {
    const store = createScheduleStore(db.redis(), prefix, 'dest-x');
    const queue = createSchedulesQueue(db.redis(), prefix, 'dest-x');
    try {
      await saveSchedule(store, queue, {
        v: 1,
        name: 'nightly-users',
        cron: '0 2 * * *',
        tz: 'Europe/Berlin',
        source: '/exports/users-*.csv.gz',
        settleMs: 60_000,
        argv: [],
        destId: 'dest-x',
        updatedAt: Date.now(),
      });
      const server = await start();
      const res = await request(server, '/');
      expect(res.text).toContain('nightly-users');
      expect(res.text).toContain('0 2 * * * (Europe/Berlin)');
      expect(res.text).not.toContain('No schedules.');
      expect(res.text).not.toContain('not scheduled');
    } finally {
      await removeSchedule(store, queue, 'nightly-users');
      await queue.close();
    }
  });

  it('/runs/<id> groups dead letters by code with line and external_id only', async () => {
    const server = await start();
    const res = await request(server, '/runs/run-done');
    expect(res.status).toBe(200);
    expect(res.text).toMatch(
      /<tr data-code="bad_email"><td><code>bad_email<\/code><\/td><td class="num">6<\/td>/,
    );
    expect(res.text).toMatch(/data-code="missing_external_id">.*<td class="num">1<\/td>/);
    expect(res.text).toContain('line 2: <code>u-0&lt;script&gt;');
    expect(res.text).toContain('line 8: <span class="muted">(empty)</span>');
    expect(res.text).toContain('(1 may already be in Braze)');
    // Five examples a code, and never the rest of a row or a message (they can hold personal data).
    expect(res.text).not.toContain('line 7: ');
    expect(res.text).not.toContain('@example.com');
    expect(res.text).not.toContain(EVIL);
    expect(res.text).toContain('href="/runs/run-done/dead-letters.csv"');
    expect((await request(server, '/runs/nope')).status).toBe(404);
    expect((await request(server, '/runs/..%2Fetc')).status).toBe(404);
  });

  it('downloads the dead letters exactly as the CLI exports them', async () => {
    const server = await start();
    for (const format of ['csv', 'jsonl'] as const) {
      const res = await request(server, `/runs/run-done/dead-letters.${format}`);
      expect(res.status).toBe(200);
      expect(res.headers.get('content-disposition')).toBe(
        `attachment; filename="braze-import-run-done.dead-letters.${format}"`,
      );
      expect(res.headers.get('cache-control')).toBe('no-store');
      let expected = '';
      await exportDeadLetters(
        () => readDeadLetters(runs, 'run-done', `/data/${EVIL_NAME}.csv`),
        format,
        (t) => {
          expected += t;
        },
      );
      expect(res.text).toBe(expected);
      expect(res.text).toContain('_error_code');
    }
  });

  it('the JSON of a run carries its view and the text of its cells', async () => {
    const server = await start();
    const one = JSON.parse((await request(server, '/api/runs/run-done')).text) as Record<string, unknown>;
    expect(one).toMatchObject({
      runId: 'run-done',
      kind: 'run',
      status: 'completed_with_errors',
      rows: { read: 20, valid: 13, rejected: 7 },
      objects: { total: 13, accepted: 12, failed: 1, notAttempted: 0 },
      requests: { sent: 3, retried: 1, rateLimited: 1 },
      cells: { accepted: '12', rejected: '7', failed: '1', rateLimited: '1' },
    });
    await runs.set('run-live', { kind: 'backfill' });
    const live = JSON.parse((await request(server, '/api/runs/run-live')).text) as Record<string, unknown>;
    expect(live).toMatchObject({ kind: 'backfill', live: true, progress: { readShare: 0.5 } });
  });
});

describe('dashboard actions', () => {
  const post = (server: { url: string }, path: string, body = '') =>
    fetch(`${server.url}${path}`, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', origin: server.url },
      body,
    });

  it('are off without --allow-actions: no buttons, and POSTs refused', async () => {
    const server = await start(false);
    expect((await request(server, '/runs/run-live')).text).not.toContain('<form');
    expect((await post(server, '/runs/run-live/pause')).status).toBe(403);
  });

  it('pause, resume and cancel a live run through the run logic', async () => {
    const server = await start(true);
    const queue = createTrackQueue(db.redis(), prefix, 'run-live');
    try {
      const page = await request(server, '/runs/run-live');
      expect(page.text).toContain('action="/runs/run-live/pause"');
      expect(page.text).toContain('action="/runs/run-live/cancel"');
      expect((await post(server, '/runs/run-live/pause')).status).toBe(303);
      expect(await queue.isPaused()).toBe(true);
      const paused = await request(server, '/runs/run-live?done=paused');
      expect(paused.text).toContain('Paused: requests in flight finish');
      expect(paused.text).toMatch(/data-field="status">paused</);
      expect(paused.text).toContain('action="/runs/run-live/resume"');
      expect((await post(server, '/runs/run-live/resume')).status).toBe(303);
      expect(await queue.isPaused()).toBe(false);
      // Cancel needs its confirmation box.
      expect((await post(server, '/runs/run-live/cancel')).status).toBe(400);
      expect((await runs.get('run-live'))?.status).toBe('reading');
      const cancel = await post(server, '/runs/run-live/cancel', 'confirm=yes');
      expect(cancel.status).toBe(303);
      expect(cancel.headers.get('location')).toBe('/runs/run-live?done=cancelled');
      const run = await runs.get('run-live');
      expect(run?.status).toBe('cancelled');
      expect(run?.reason).toBe('cancelled with the dashboard');
      // Nothing to pause any more: the page says why, with a 409.
      const again = await post(server, '/runs/run-live/pause');
      expect(again.status).toBe(409);
      expect(await again.text()).toContain('run run-live is cancelled: nothing to pause');
    } finally {
      await queue.close();
    }
  });
});
