import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptionsInput, startEmulator } from '../../src/emulator/index.js';

/**
 * Over real HTTP: per-key permissions (403 Access Denied), the legacy api_key in the body or the
 * query, and what a 429 carries in each header mode (the MAU pages send only
 * X-Ratelimit-Retry-After; some answers may carry nothing).
 */

const KEY = 'main-key';
const BODY = { attributes: [{ external_id: 'u1', plan: 'gold' }] };
let emu: Emulator | undefined;

afterEach(async () => {
  await emu?.close();
  emu = undefined;
});

async function start(options: EmulatorOptionsInput = {}): Promise<Emulator> {
  emu = await startEmulator({ port: 0, apiKey: KEY, ...options });
  return emu;
}

async function post(path: string, body: unknown, auth?: string) {
  const res = await request(`${emu!.url}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth !== undefined && { authorization: auth }) },
    body: JSON.stringify(body),
  });
  const text = await res.body.text();
  return { status: res.statusCode, headers: res.headers, json: JSON.parse(text) as Record<string, unknown> };
}

describe('per-key permissions', () => {
  it('a key without users.track gets 403 Access Denied and changes nothing; with it, 201', async () => {
    await start({ keys: { 'delete-only': ['users.delete'], tracker: ['users.track'] } });
    const denied = await post('/users/track', BODY, 'Bearer delete-only');
    expect(denied).toMatchObject({ status: 403, json: { message: 'Access Denied' } });
    expect(denied.headers['x-ratelimit-limit']).toBeUndefined();
    expect(emu!.getUser('u1')).toBeUndefined();
    expect((await post('/users/delete', { external_ids: ['u1'] }, 'Bearer delete-only')).status).toBe(201);
    expect((await post('/users/track', BODY, 'Bearer tracker')).status).toBe(201);
    expect((await post('/users/delete', { external_ids: ['u1'] }, 'Bearer tracker')).status).toBe(403);
    expect((await post('/users/track', BODY, 'Bearer nobody')).status).toBe(401);
    expect(emu!.stats().requests.byStatus).toMatchObject({ '403': 2, '401': 1, '201': 2 });
    const config = await request(`${emu!.url}/_emulator/config`);
    const text = await config.body.text();
    expect(text).not.toMatch(/delete-only|tracker|main-key/);
    expect(JSON.parse(text)).toMatchObject({ extraKeys: 2, legacyApiKey: true, headers429: 'standard' });
  });
});

describe('legacy api_key', () => {
  it('is taken from the body or the query when no Authorization header is sent', async () => {
    await start({ keys: { other: ['users.delete'] } });
    expect((await post('/users/track', { api_key: KEY, ...BODY })).status).toBe(201);
    expect(emu!.getUser('u1')?.attributes).toEqual({ plan: 'gold' });
    expect((await post(`/users/track?api_key=${KEY}`, BODY)).status).toBe(201);
    expect((await post('/users/track', { api_key: 'wrong', ...BODY })).status).toBe(401);
    expect((await post('/users/track', { api_key: 'other', ...BODY })).status).toBe(403);
    expect((await post('/users/track', BODY)).status).toBe(401);
  });

  it('is refused when the emulator is told to (legacyApiKey: false)', async () => {
    await start({ legacyApiKey: false });
    expect((await post('/users/track', { api_key: KEY, ...BODY })).status).toBe(401);
    expect((await post('/users/track', BODY, `Bearer ${KEY}`)).status).toBe(201);
  });
});

describe('what a 429 carries', () => {
  const limited = { rateLimits: { track: { limit: 1, windowMs: 60_000 } } };
  const second429 = async () => {
    expect((await post('/users/track', BODY, `Bearer ${KEY}`)).status).toBe(201);
    const res = await post('/users/track', BODY, `Bearer ${KEY}`);
    expect(res.status).toBe(429);
    return res.headers;
  };

  it('standard: the X-RateLimit-* trio and X-Ratelimit-Retry-After', async () => {
    await start(limited);
    const h = await second429();
    expect(h['x-ratelimit-limit']).toBe('1');
    expect(h['x-ratelimit-remaining']).toBe('0');
    expect(Number(h['x-ratelimit-reset'])).toBeGreaterThan(Date.now() / 1000);
    expect(Number(h['x-ratelimit-retry-after'])).toBeGreaterThanOrEqual(59);
  });

  it('retry-after (the MAU pages): only X-Ratelimit-Retry-After; other answers keep the trio', async () => {
    await start({ ...limited, headers429: 'retry-after' });
    const h = await second429();
    expect(Number(h['x-ratelimit-retry-after'])).toBeGreaterThanOrEqual(59);
    expect(h['x-ratelimit-limit']).toBeUndefined();
    expect(h['x-ratelimit-reset']).toBeUndefined();
  });

  it('none: no rate-limit header at all, also on an injected burst', async () => {
    await start({ ...limited, headers429: 'none' });
    const h = await second429();
    expect(Object.keys(h).filter((name) => name.startsWith('x-ratelimit'))).toEqual([]);
    emu!.reset();
    emu!.setFaults({ burst429Every: 1 });
    const burst = await post('/users/track', BODY, `Bearer ${KEY}`);
    expect(burst.status).toBe(429);
    expect(Object.keys(burst.headers).filter((name) => name.startsWith('x-ratelimit'))).toEqual([]);
  });
});
