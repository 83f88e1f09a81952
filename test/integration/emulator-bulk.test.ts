import { request } from 'undici';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseEmulatorFlags } from '../../jobs/emulator-command.js';
import {
  type Emulator,
  type EmulatorOptionsInput,
  type EmulatorStatsView,
  startEmulator,
} from '../../src/emulator/index.js';

/**
 * POST /users/track/bulk over real HTTP: Braze's bulk rules (1,000 objects, 2 MB -> 400, 100 objects per
 * user profile, the users.track.bulk permission, its own 50/s limit), the per-object validation it shares
 * with /users/track, fault targeting, and the stats per endpoint a client's tests assert on.
 */

const KEY = 'bulk-main-key';
const BULK = '/users/track/bulk';
const TRACK = '/users/track';
let emu: Emulator | undefined;

afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function start(options: EmulatorOptionsInput = {}): Promise<Emulator> {
  emu = await startEmulator({ port: 0, apiKey: KEY, ...options });
  return emu;
}

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${emu!.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> };
}

const as = (key: string) => ({ authorization: `Bearer ${key}` });
const attrs = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => ({ external_id: `u${from + i}`, plan: 'gold', visits: i }));
const events = (n: number, id?: string) =>
  Array.from({ length: n }, (_, i) => ({
    external_id: id ?? `u${i}`,
    name: 'signed_up',
    time: '2024-01-01T00:00:00Z',
  }));
const purchases = (n: number) =>
  Array.from({ length: n }, (_, i) => ({
    external_id: `u${i}`,
    product_id: 'p1',
    currency: 'USD',
    price: 9.99,
    time: '2024-01-01T00:00:00Z',
  }));

/** `count` objects of about `bytesEach` bytes of JSON each, for distinct users. */
function padded(count: number, bytesEach: number): { attributes: object[] } {
  const fields = Math.ceil(bytesEach / 260);
  const value = 'x'.repeat(250);
  return {
    attributes: Array.from({ length: count }, (_, i) => {
      const o: Record<string, string> = { external_id: `p${i}` };
      for (let f = 0; f < fields; f++) o[`f${f}`] = value;
      return o;
    }),
  };
}

const endpoint = (s: EmulatorStatsView, path: string) => {
  const e = s.endpoints[path];
  if (!e) throw new Error(`no stats for ${path}`);
  return e;
};

describe('/users/track/bulk: what it accepts', () => {
  it('1,000 objects across the three arrays: 201 with the counters, headers of its own 50/s limit', async () => {
    await start();
    const body = { attributes: attrs(600), events: events(300), purchases: purchases(100) };
    const res = await post(BULK, body, { 'x-braze-bulk': 'true' });
    expect(res).toMatchObject({
      status: 201,
      json: {
        message: 'success',
        attributes_processed: 600,
        events_processed: 300,
        purchases_processed: 100,
      },
    });
    expect(res.headers['x-ratelimit-limit']).toBe('50');
    expect(res.headers['x-ratelimit-remaining']).toBe('49');
    expect(Number(res.headers['x-ratelimit-reset'])).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
    expect(emu!.getUser('u599')?.attributes).toMatchObject({ plan: 'gold', visits: 599 });
    expect(emu!.getUser('u0')?.events).toHaveLength(1);
    expect(emu!.getUser('u0')?.purchases).toHaveLength(1);
  });

  it('1,001 objects: 400 Max Input Length Exceeded, nothing applied; /users/track keeps its 75', async () => {
    await start();
    const res = await post(BULK, { attributes: attrs(501), events: events(500) });
    expect(res).toMatchObject({ status: 400, json: { message: 'Max Input Length Exceeded' } });
    expect(emu!.getUser('u0')).toBeUndefined();
    expect((await post(TRACK, { attributes: attrs(76) })).json).toEqual({
      message: 'Max Input Length Exceeded',
    });
    expect((await post(TRACK, { attributes: attrs(75) })).status).toBe(201);
  });

  it('a body over 2 MB: 400 (not 413), nothing applied; under 2 MB it passes; /users/track keeps 4 MB', async () => {
    await start();
    const over = JSON.stringify(padded(800, 2700));
    expect(Buffer.byteLength(over)).toBeGreaterThan(2 * 1024 * 1024);
    const res = await post(BULK, over);
    expect(res).toMatchObject({ status: 400, json: { message: 'Request Entity Too Large' } });
    expect(emu!.getUser('p0')).toBeUndefined();
    const under = JSON.stringify(padded(700, 2700));
    expect(Buffer.byteLength(under)).toBeLessThan(2 * 1024 * 1024);
    expect((await post(BULK, under)).status).toBe(201);
    // The same 2+ MB to /users/track (75 larger objects) is within its 4 MB.
    const track = JSON.stringify(padded(75, 36_000));
    expect(Buffer.byteLength(track)).toBeGreaterThan(2 * 1024 * 1024);
    expect((await post(TRACK, track)).status).toBe(201);
    const bulk = endpoint(emu!.stats(), BULK);
    expect(bulk.byStatus).toEqual({ '400': 1, '201': 1 });
    expect(bulk.bytesReceived).toBe(Buffer.byteLength(over) + Buffer.byteLength(under));
  });

  // Braze documents the cap of 100 objects per user profile but not its answer (shared/braze-api.md §3):
  // the emulator refuses the whole request with 400 "Max Objects Per User Exceeded" and applies nothing.
  it('more than 100 objects for one user profile, across the arrays: 400, nothing applied', async () => {
    await start();
    const tooMany = { attributes: [{ external_id: 'busy', plan: 'x' }], events: events(100, 'busy') };
    const res = await post(BULK, tooMany);
    expect(res).toMatchObject({ status: 400, json: { message: 'Max Objects Per User Exceeded' } });
    expect(emu!.getUser('busy')).toBeUndefined();
    // 100 for each of two users is fine.
    const two = { events: [...events(100, 'a'), ...events(100, 'b')] };
    expect((await post(BULK, two)).json).toEqual({ message: 'success', events_processed: 200 });
    // Counted by the identifier as sent: an alias, or an email in any case, names one profile.
    const alias = { alias_name: 'n', alias_label: 'l' };
    const byAlias = Array.from({ length: 101 }, () => ({ user_alias: alias, name: 'e', time: '2024-01-01' }));
    expect((await post(BULK, { events: byAlias })).status).toBe(400);
    const byEmail = Array.from({ length: 101 }, (_, i) => ({ email: i % 2 ? 'A@x.io' : 'a@x.io', n: i }));
    expect((await post(BULK, { attributes: byEmail })).status).toBe(400);
  });
});

describe('/users/track/bulk: keys and permissions', () => {
  it('needs users.track.bulk: users.track alone gets 403, and the other way round', async () => {
    await start({ keys: { tracker: ['users.track'], backfill: ['users.track.bulk'] } });
    const body = { attributes: attrs(2) };
    const denied = await post(BULK, body, as('tracker'));
    expect(denied).toMatchObject({ status: 403, json: { message: 'Access Denied' } });
    expect(denied.headers['x-ratelimit-limit']).toBeUndefined();
    expect(emu!.getUser('u0')).toBeUndefined();
    expect((await post(TRACK, body, as('tracker'))).status).toBe(201);
    expect((await post(BULK, body, as('backfill'))).status).toBe(201);
    expect((await post(TRACK, body, as('backfill'))).status).toBe(403);
    expect((await post(BULK, body, as('nobody'))).status).toBe(401);
    // The main key (what tests and the demo use) holds both.
    expect((await post(BULK, body)).status).toBe(201);
    expect((await post(TRACK, body)).status).toBe(201);
    expect(endpoint(emu!.stats(), BULK).byStatus).toEqual({ '201': 2, '401': 1, '403': 1 });
  });

  it('takes the legacy api_key too, with the bulk body cap on that path as well', async () => {
    await start({ keys: { backfill: ['users.track.bulk'] } });
    const legacy = async (query: string, body: string) => {
      const res = await request(`${emu!.url}${BULK}${query}`, { method: 'POST', body });
      return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
    };
    const body = { attributes: attrs(1) };
    expect((await legacy('', JSON.stringify({ api_key: 'backfill', ...body }))).status).toBe(201);
    expect((await legacy('?api_key=backfill', JSON.stringify(body))).status).toBe(201);
    expect(await legacy('?api_key=backfill', JSON.stringify(padded(800, 2700)))).toEqual({
      status: 400,
      json: { message: 'Request Entity Too Large' },
    });
  });

  it('keys and limits from the CLI flags: --key, --rate-limit bulk=..., --bulk-max-*', async () => {
    await start(
      parseEmulatorFlags({
        port: '0',
        apiKey: KEY,
        key: ['backfill=users.track.bulk', 'tracker=users.track'],
        rateLimit: ['bulk=2/1m'],
        bulkMaxObjects: '10',
        bulkMaxObjectsPerUser: '3',
      }),
    );
    expect((await post(BULK, { attributes: attrs(11) }, as('backfill'))).status).toBe(400);
    expect((await post(BULK, { events: events(4, 'one') }, as('backfill'))).status).toBe(400);
    expect((await post(BULK, { attributes: attrs(2) }, as('tracker'))).status).toBe(403);
    expect((await post(BULK, { attributes: attrs(10) }, as('backfill'))).status).toBe(429);
  });
});

describe('/users/track/bulk: the same per-object rules as /users/track', () => {
  it('answers exactly as /users/track does, per-object errors included', async () => {
    await start();
    const body = {
      attributes: [
        { external_id: 'ok1', plan: 'a' },
        { plan: 'no id' },
        { external_id: 'ok2', email: 'bad' },
      ],
      events: [{ external_id: 'ok1', name: 'e' }],
      purchases: [
        { external_id: 'ok1', product_id: 'p', currency: 'USD', price: 1, quantity: 101, time: '2024-01-01' },
      ],
    };
    const track = await post(TRACK, body);
    emu!.reset();
    const bulk = await post(BULK, body);
    expect(bulk.status).toBe(201);
    expect(bulk.json).toEqual(track.json);
    expect(bulk.json['errors']).toEqual([
      { type: expect.stringContaining('is required'), input_array: 'attributes', index: 1 },
      { type: expect.any(String), input_array: 'attributes', index: 2 },
      { type: "'time' is required", input_array: 'events', index: 0 },
      { type: "'quantity' is not valid", input_array: 'purchases', index: 0 },
    ]);
    expect(emu!.getUser('ok1')?.attributes).toEqual({ plan: 'a' });
    const allBad = { attributes: [{ plan: 'no id' }] };
    const [t, b] = [await post(TRACK, allBad), await post(BULK, allBad)];
    expect(b).toMatchObject({ status: 400, json: t.json });
    expect(endpoint(emu!.stats(), BULK).objects).toMatchObject({
      accepted: 1,
      rejected: 5,
      maxPerRequest: 5,
    });
    expect(endpoint(emu!.stats(), TRACK).objects).toMatchObject({ accepted: 0, rejected: 1 });
  });
});

describe('/users/track/bulk: its own rate limit', () => {
  it('50 requests per second by default, then 429 with the headers; /users/track is not charged', async () => {
    let now = 1_700_000_000_000;
    await start({ now: () => now });
    const body = { attributes: attrs(1) };
    for (let i = 0; i < 50; i++) expect((await post(BULK, body)).status).toBe(201);
    const limited = await post(BULK, body);
    expect(limited).toMatchObject({ status: 429, json: { message: 'Rate Limit Exceeded' } });
    expect(limited.headers['x-ratelimit-limit']).toBe('50');
    expect(limited.headers['x-ratelimit-remaining']).toBe('0');
    expect(limited.headers['x-ratelimit-retry-after']).toBe('1');
    expect(limited.headers['x-ratelimit-reset']).toBe(String(Math.ceil((now + 1000) / 1000)));
    const track = await post(TRACK, body);
    expect(track.status).toBe(201);
    expect(track.headers['x-ratelimit-remaining']).toBe('2999');
    now += 1000;
    expect((await post(BULK, body)).status).toBe(201);
    const s = emu!.stats();
    expect(s.rateLimited).toBe(1);
    expect(endpoint(s, BULK)).toMatchObject({
      requests: 52,
      admitted: 51,
      rateLimited: 1,
      byStatus: { '201': 51, '429': 1 },
      windowMs: 1000,
      maxRequestsInWindow: 50,
      maxArrivalsInWindow: 51,
    });
    expect(endpoint(s, TRACK)).toMatchObject({ requests: 1, rateLimited: 0, maxRequestsInWindow: 1 });
  });

  it('the limit is configurable and the 429 header modes apply to it as to /users/track', async () => {
    await start({ rateLimits: { bulk: { limit: 1, windowMs: 60_000 } }, headers429: 'retry-after' });
    expect((await post(BULK, { attributes: attrs(1) })).status).toBe(201);
    const limited = await post(BULK, { attributes: attrs(1) });
    expect(limited.status).toBe(429);
    expect(Number(limited.headers['x-ratelimit-retry-after'])).toBeGreaterThanOrEqual(59);
    expect(limited.headers['x-ratelimit-limit']).toBeUndefined();
    expect(endpoint(emu!.stats(), BULK).windowMs).toBe(60_000);
  });
});

describe('/users/track/bulk: faults', () => {
  it('faults aimed at the bulk bucket leave /users/track alone, scripted outcomes included', async () => {
    await start({ faults: { buckets: ['bulk'], failRate: 1, failStatuses: [503] } });
    expect((await post(TRACK, { attributes: attrs(1) })).status).toBe(201);
    expect((await post(BULK, { attributes: attrs(1, 10) })).status).toBe(503);
    expect(emu!.getUser('u10')).toBeUndefined();
    emu!.setFaults({ failRate: 0, script: ['429', 502] });
    expect((await post(TRACK, { attributes: attrs(1) })).status).toBe(201);
    expect((await post(BULK, { attributes: attrs(1) })).status).toBe(429);
    expect((await post(BULK, { attributes: attrs(1) })).status).toBe(502);
    expect((await post(BULK, { attributes: attrs(1) })).status).toBe(201);
    emu!.setFaults({ buckets: ['track'], failRate: 1 });
    expect((await post(BULK, { attributes: attrs(1) })).status).toBe(201);
    expect((await post(TRACK, { attributes: attrs(1) })).status).toBe(503);
    const s = emu!.stats();
    expect(s.faults).toMatchObject({ failed: 3, burst429: 1 });
    expect(endpoint(s, BULK).byStatus).toEqual({ '201': 2, '429': 1, '502': 1, '503': 1 });
    expect(endpoint(s, TRACK).byStatus).toEqual({ '201': 2, '503': 1 });
  });

  it('by default faults apply to every bucket, bulk too', async () => {
    await start({ faults: { failRate: 1 } });
    expect((await post(BULK, { attributes: attrs(1) })).status).toBeGreaterThanOrEqual(500);
    expect((await post(TRACK, { attributes: attrs(1) })).status).toBeGreaterThanOrEqual(500);
  });
});

describe('/users/track/bulk with latency and arrival jitter', () => {
  it('counts an arrival when it comes in, its admission or 429 when its own limit counts it, later', async () => {
    const t0 = 1_700_000_000_000;
    let now = t0;
    // Seed 1: the first request waits 924 ms behind the "load balancer", the second 333 ms.
    await start({
      now: () => now,
      seed: 1,
      rateLimits: { bulk: { limit: 2, windowMs: 1000 } },
      faults: { buckets: ['bulk'], arrivalJitterMs: 1000 },
    });
    const first = post(BULK, { attributes: attrs(1) });
    await vi.waitFor(() => expect(endpoint(emu!.stats(), BULK).requests).toBe(1), { interval: 5 });
    expect(endpoint(emu!.stats(), BULK)).toMatchObject({ admitted: 0, firstAt: t0 });
    // It arrived at t0 and is counted 5 s later: its window is the one of the next two requests.
    now = t0 + 5000;
    const a = await first;
    expect(a.status).toBe(201);
    expect(a.headers['x-ratelimit-reset']).toBe(String(Math.ceil((now + 1000) / 1000)));
    expect((await post(BULK, { attributes: attrs(1) })).status).toBe(201);
    expect((await post(BULK, { attributes: attrs(1) })).status).toBe(429);
    // /users/track is not targeted: counted at once, no wait drawn.
    expect((await post(TRACK, { attributes: attrs(1) })).status).toBe(201);
    const s = emu!.stats();
    expect(endpoint(s, BULK)).toMatchObject({
      requests: 3,
      admitted: 2,
      rateLimited: 1,
      byStatus: { '201': 2, '429': 1 },
      maxArrivalsInWindow: 2,
      maxRequestsInWindow: 2,
      firstAt: t0,
      lastAt: t0 + 5000,
    });
    expect(endpoint(s, TRACK)).toMatchObject({ requests: 1, admitted: 1, maxRequestsInWindow: 1 });
    expect(s.rateLimited).toBe(1);
    expect(s.arrivalDelayMs).toMatchObject({ count: 4, min: 0 });
    expect(s.arrivalDelayMs.max).toBeCloseTo(924, 0);
  });

  it('faults aimed at bulk: /users/track and unknown paths wait no latency nor jitter and draw no dice', async () => {
    const faults = { buckets: ['bulk'], latencyMs: 40, latencyJitterMs: 30, arrivalJitterMs: 50 };
    const alone = await startEmulator({ port: 0, apiKey: KEY, seed: 9, faults });
    try {
      await start({ seed: 9, faults });
      const bulkOnly = async (e: Emulator) => {
        for (let i = 0; i < 3; i++) {
          const res = await request(`${e.url}${BULK}`, {
            method: 'POST',
            headers: { authorization: `Bearer ${KEY}` },
            body: JSON.stringify({ attributes: attrs(1, i) }),
          });
          expect(res.statusCode).toBe(201);
          await res.body.dump();
        }
      };
      // Interleaved: every /users/track request and the 404 before each bulk one.
      for (let i = 0; i < 3; i++) {
        expect((await post(TRACK, { attributes: attrs(1, i) })).status).toBe(201);
        expect((await post('/users/nope', {})).status).toBe(404);
        expect((await post(BULK, { attributes: attrs(1, i) })).status).toBe(201);
      }
      await bulkOnly(alone);
      const [mixed, bulk] = [emu!.stats(), alone.stats()];
      for (const kind of ['answerDelayMs', 'arrivalDelayMs'] as const) {
        // The six untargeted requests waited 0 and left the bulk requests' dice as they were.
        expect(mixed[kind]).toMatchObject({ count: 9, min: 0, max: bulk[kind].max });
        expect(mixed[kind].mean * 9).toBeCloseTo(bulk[kind].mean * 3, 6);
        expect(bulk[kind]).toMatchObject({ count: 3 });
        expect(bulk[kind].min).toBeGreaterThan(0);
      }
    } finally {
      await alone.close();
    }
  });

  it('several bulk requests at once: its own limit admits as many as it allows, in jittered order', async () => {
    await start({
      seed: 3,
      rateLimits: { bulk: { limit: 5, windowMs: 60_000 } },
      faults: { arrivalJitterMs: 100 },
    });
    const statuses = await Promise.all(
      Array.from({ length: 10 }, (_, i) => post(BULK, { attributes: attrs(1, i) }).then((r) => r.status)),
    );
    expect(statuses.filter((s) => s === 201)).toHaveLength(5);
    expect(statuses.filter((s) => s === 429)).toHaveLength(5);
    const s = emu!.stats();
    expect(endpoint(s, BULK)).toMatchObject({
      requests: 10,
      admitted: 5,
      rateLimited: 5,
      maxRequestsInWindow: 5,
      maxArrivalsInWindow: 10,
    });
    expect(s.arrivalDelayMs.count).toBe(10);
  });
});

describe('stats per endpoint', () => {
  it('a bulk backfill: 1,000-object requests to /users/track/bulk, /users/track untouched', async () => {
    await start();
    for (let r = 0; r < 3; r++) {
      const res = await post(BULK, { attributes: attrs(1000, r * 1000) }, { 'x-braze-bulk': 'true' });
      expect(res.status).toBe(201);
    }
    await post(BULK, { attributes: attrs(250, 3000) });
    const res = await request(`${emu!.url}/_emulator/stats`);
    const s = (await res.body.json()) as EmulatorStatsView;
    expect(endpoint(s, TRACK)).toEqual({
      requests: 0,
      admitted: 0,
      rateLimited: 0,
      byStatus: {},
      objects: {
        accepted: 0,
        rejected: 0,
        attributes: 0,
        events: 0,
        purchases: 0,
        notApplied: 0,
        maxPerRequest: 0,
      },
      dataPoints: 0,
      windowMs: 3000,
      maxRequestsInWindow: 0,
      maxArrivalsInWindow: 0,
      firstAt: null,
      lastAt: null,
      bytesReceived: 0,
    });
    expect(s.requests).toMatchObject({ total: 4, track: 0 });
    expect(s).toMatchObject({ maxTrackRequestsIn3s: 0, firstTrackAt: null, users: 3250 });
    const bulk = endpoint(s, BULK);
    expect(bulk).toMatchObject({
      requests: 4,
      admitted: 4,
      byStatus: { '201': 4 },
      objects: { accepted: 3250, rejected: 0, attributes: 3250, maxPerRequest: 1000 },
      windowMs: 1000,
    });
    // Totals are over every endpoint; two attributes billed per object (plan, visits).
    expect(bulk.dataPoints).toBe(6500);
    expect(s.dataPoints).toBe(6500);
    expect(s.objects.accepted).toBe(3250);
    expect(bulk.firstAt).toBeLessThanOrEqual(bulk.lastAt ?? 0);
    expect(Object.keys(s.endpoints)).toEqual(expect.arrayContaining([TRACK, BULK, '/users/delete']));
    emu!.reset();
    expect(endpoint(emu!.stats(), BULK)).toMatchObject({ requests: 0, objects: { maxPerRequest: 0 } });
  });
});
