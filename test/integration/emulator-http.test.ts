import { Readable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';

let emu: Emulator;
const KEY = 'test-key';

async function call(path: string, body?: unknown, headers: Record<string, string> = {}) {
  const res = await request(`${emu.url}${path}`, {
    method: body === undefined && !path.startsWith('/users') ? 'GET' : 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json', ...headers },
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.body.text();
  return {
    status: res.statusCode,
    headers: res.headers,
    json: text ? (JSON.parse(text) as Record<string, unknown>) : {},
  };
}

const user = (i: number) => ({ external_id: `user-${i}`, plan: 'gold' });

beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: KEY });
});
afterAll(() => emu.close());
beforeEach(() => emu.reset());

describe('POST /users/track over HTTP', () => {
  it('401 on a missing or wrong key, before rate limiting', async () => {
    expect(await call('/users/track', { attributes: [user(1)] }, { authorization: '' })).toMatchObject({
      status: 401,
      json: { message: 'Invalid API Key' },
    });
    const wrong = await call('/users/track', { attributes: [user(1)] }, { authorization: 'Bearer nope' });
    expect(wrong.status).toBe(401);
    expect(wrong.headers['x-ratelimit-limit']).toBeUndefined();
    expect(emu.stats().maxTrackRequestsIn3s).toBe(0);
  });

  it('201 with counters and rate-limit headers; X-Braze-Bulk is accepted', async () => {
    const res = await call(
      '/users/track',
      {
        attributes: [user(1)],
        events: [{ external_id: 'user-1', name: 'signup', time: '2024-01-01T00:00:00Z' }],
      },
      { 'x-braze-bulk': 'true' },
    );
    expect(res.status).toBe(201);
    expect(res.json).toEqual({ message: 'success', attributes_processed: 1, events_processed: 1 });
    expect(res.headers['x-ratelimit-limit']).toBe('3000');
    expect(res.headers['x-ratelimit-remaining']).toBe('2999');
    const reset = Number(res.headers['x-ratelimit-reset']);
    expect(reset).toBeGreaterThanOrEqual(Math.floor(Date.now() / 1000));
    expect(reset).toBeLessThanOrEqual(Math.ceil(Date.now() / 1000) + 3);
  });

  it('201 with per-object errors; only valid objects reach the store', async () => {
    const res = await call('/users/track', {
      attributes: [user(1), { plan: 'x' }, user(3)],
      purchases: [
        {
          external_id: 'user-1',
          product_id: 'p',
          currency: 'USD',
          price: 1,
          quantity: 101,
          time: '2024-01-01',
        },
      ],
    });
    expect(res.status).toBe(201);
    expect(res.json).toMatchObject({ attributes_processed: 2, purchases_processed: 0 });
    expect(res.json['errors']).toEqual([
      { type: expect.stringContaining('is required'), input_array: 'attributes', index: 1 },
      { type: "'quantity' is not valid", input_array: 'purchases', index: 0 },
    ]);
    expect(emu.stats()).toMatchObject({ users: 2, objects: { accepted: 2, rejected: 2 } });
  });

  it('400 when nothing is valid, on an empty body and on malformed JSON', async () => {
    const allBad = await call('/users/track', { events: [{ external_id: 'a', name: 'e' }] });
    expect(allBad.status).toBe(400);
    expect(allBad.json['message']).toBe(
      "Valid data must be provided in the 'attributes', 'events', or 'purchases' fields.",
    );
    expect(allBad.json['errors']).toHaveLength(1);
    expect((await call('/users/track', '')).status).toBe(400);
    expect((await call('/users/track', '{"attributes": [')).status).toBe(400);
    expect(emu.stats().users).toBe(0);
  });

  it('400 Max Input Length Exceeded above 75 objects across the arrays', async () => {
    const attributes = Array.from({ length: 50 }, (_, i) => user(i));
    const events = Array.from({ length: 26 }, (_, i) => ({
      external_id: `user-${i}`,
      name: 'e',
      time: '2024-01-01',
    }));
    const res = await call('/users/track', { attributes, events });
    expect(res).toMatchObject({ status: 400, json: { message: 'Max Input Length Exceeded' } });
    expect((await call('/users/track', { attributes, events: events.slice(1) })).status).toBe(201);
  });

  it('413 for bodies over 4 MiB, by Content-Length or by counting a chunked stream', async () => {
    const big = JSON.stringify({ attributes: [{ external_id: 'x', blob: 'a'.repeat(4 * 1024 * 1024) }] });
    expect((await call('/users/track', big)).status).toBe(413);
    const res = await request(`${emu.url}/users/track`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: Readable.from([big.slice(0, 3_000_000), big.slice(3_000_000)]),
    });
    expect(res.statusCode).toBe(413);
    await res.body.dump();
    // Exactly 4 MiB is fine.
    const fits = `{"attributes":[{"external_id":"x","blob":"${'a'.repeat(4 * 1024 * 1024 - 46)}"}]}`;
    expect(Buffer.byteLength(fits)).toBe(4 * 1024 * 1024);
    expect((await call('/users/track', fits)).status).toBe(201);
  });

  it('404 for unknown paths and methods', async () => {
    expect(await call('/users/trak', {})).toMatchObject({ status: 404, json: { message: 'Not Found' } });
    const get = await request(`${emu.url}/users/track`, { headers: { authorization: `Bearer ${KEY}` } });
    expect(get.statusCode).toBe(404);
    await get.body.dump();
  });
});

describe('legacy per-array cap', () => {
  it('accepts 75 objects in each array and rejects 76 in one', async () => {
    const legacy = await startEmulator({ port: 0, apiKey: KEY, legacyPerArray: true });
    try {
      const body = (n: number) => ({
        attributes: Array.from({ length: 75 }, (_, i) => user(i)),
        events: Array.from({ length: n }, (_, i) => ({
          external_id: `user-${i}`,
          name: 'e',
          time: '2024-01-01',
        })),
      });
      const post = (b: unknown) =>
        request(`${legacy.url}/users/track`, {
          method: 'POST',
          headers: { authorization: `Bearer ${KEY}` },
          body: JSON.stringify(b),
        }).then(async (r) => ({ status: r.statusCode, json: await r.body.json() }));
      expect(await post(body(75))).toMatchObject({
        status: 201,
        json: { attributes_processed: 75, events_processed: 75 },
      });
      expect(await post(body(76))).toMatchObject({
        status: 400,
        json: { message: 'Max Input Length Exceeded' },
      });
    } finally {
      await legacy.close();
    }
  });
});

describe('inspection API', () => {
  it('shows profiles, events (duplicates included), stats; reset clears everything', async () => {
    const event = { external_id: 'a/b c', name: 'paid', time: '2024-01-01T00:00:00Z' };
    expect((await call('/_emulator/stats')).json).toMatchObject({ firstTrackAt: null, lastTrackAt: null });
    const before = Date.now();
    await call('/users/track', { attributes: [{ external_id: 'a/b c', tier: 2 }], events: [event, event] });
    const got = await call(`/_emulator/users/${encodeURIComponent('a/b c')}`);
    expect(got.status).toBe(200);
    expect(got.json).toMatchObject({ external_id: 'a/b c', attributes: { tier: 2 } });
    expect(got.json['events']).toHaveLength(2);
    expect((await call('/_emulator/users/nobody')).status).toBe(404);
    expect((await call('/_emulator/users?limit=10')).json).toMatchObject({
      total: 1,
      users: [{ external_id: 'a/b c' }],
    });
    const stats = await call('/_emulator/stats');
    expect(stats.json).toMatchObject({
      requests: { total: 1, byStatus: { '201': 1 } },
      objects: { accepted: 3, rejected: 0 },
      events: 2,
      maxTrackRequestsIn3s: 1,
    });
    const { firstTrackAt, lastTrackAt } = stats.json as { firstTrackAt: number; lastTrackAt: number };
    expect(firstTrackAt).toBe(lastTrackAt);
    expect(firstTrackAt).toBeGreaterThanOrEqual(before);
    expect(firstTrackAt).toBeLessThanOrEqual(Date.now());
    expect((await call('/_emulator/reset', {})).status).toBe(200);
    expect((await call(`/_emulator/users/${encodeURIComponent('a/b c')}`)).status).toBe(404);
    expect((await call('/_emulator/stats')).json).toMatchObject({ requests: { total: 0 }, users: 0 });
  });
});

describe('other user-data endpoints', () => {
  it('/users/delete removes profiles; alias/new + identify attach an alias profile', async () => {
    await call('/users/track', { attributes: [user(1), user(2)] });
    expect(await call('/users/delete', { external_ids: ['user-1', 'ghost'] })).toMatchObject({
      status: 201,
      json: { deleted: 1, message: 'success' },
    });
    expect(emu.getUser('user-1')).toBeUndefined();
    const alias = { alias_name: 'dev-9', alias_label: 'device' };
    expect((await call('/users/alias/new', { user_aliases: [alias] })).json).toMatchObject({
      aliases_processed: 1,
    });
    await call('/users/track', { attributes: [{ user_alias: alias, colour: 'red' }] });
    await call('/users/identify', { aliases_to_identify: [{ external_id: 'user-2', user_alias: alias }] });
    expect(emu.getUser('user-2')).toMatchObject({
      attributes: { plan: 'gold', colour: 'red' },
      user_aliases: [alias],
    });
    const limited = await call('/users/delete', { external_ids: ['x'] });
    expect(limited.headers['x-ratelimit-limit']).toBe('20000');
  });
});
