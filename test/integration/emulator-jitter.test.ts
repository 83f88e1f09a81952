/**
 * A far, busy Braze over real HTTP: answers whose latency jitters, and requests counted against the
 * limit only after a random wait behind a "load balancer". Assertions are on counts and on the seeded
 * dice (the emulator's own record of the delays it drew), not on how long anything took.
 */
import { Pool, request } from 'undici';
import { describe, expect, it, type TestContext } from 'vitest';
import { type Emulator, type EmulatorOptionsInput, startEmulator } from '../../src/emulator/index.js';

const KEY = 'jitter-key';
const BODY = JSON.stringify({ attributes: [{ external_id: 'u', n: 1 }] });
/** An emulator closed when its own test ends (the arrival tests run side by side). */
async function start(ctx: TestContext, options: EmulatorOptionsInput): Promise<Emulator> {
  const emu = await startEmulator({ port: 0, apiKey: KEY, store: 'none', ...options });
  ctx.onTestFinished(() => emu.close());
  return emu;
}

/** The status, or the error's code when the request failed (so no promise is left rejected). */
async function track(pool: Pool): Promise<number | string> {
  try {
    const res = await pool.request({
      path: '/users/track',
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
      body: BODY,
    });
    await res.body.dump();
    return res.statusCode;
  } catch (err) {
    return String((err as { code?: unknown }).code ?? err);
  }
}

/** `n` requests at once, each on a connection of its own; their statuses. */
async function together(emu: Emulator, n: number): Promise<Array<number | string>> {
  const pool = new Pool(emu.url, { connections: n });
  try {
    return await Promise.all(Array.from({ length: n }, () => track(pool)));
  } finally {
    await pool.close();
  }
}

/**
 * `n` requests sent evenly, request i at start + i x spacing on the client's clock (a late timer is
 * caught up, never pushed later), without waiting for answers; their statuses.
 */
async function paced(emu: Emulator, n: number, spacingMs: number): Promise<Array<number | string>> {
  const pool = new Pool(emu.url, { connections: 32 });
  const t0 = performance.now();
  const answers: Promise<number | string>[] = [];
  try {
    for (let i = 0; i < n; i++) {
      const wait = t0 + i * spacingMs - performance.now();
      if (wait > 0) await new Promise((r) => setTimeout(r, wait));
      answers.push(track(pool));
    }
    return await Promise.all(answers);
  } finally {
    await pool.close();
  }
}

describe('latency jitter', () => {
  it('spreads answer delays over latency +/- jitter, never below 0, the same for the same seed', async (ctx) => {
    const faults = { latencyMs: 150, latencyJitterMs: 50 };
    const [a, b, c] = await Promise.all([
      start(ctx, { seed: 21, faults }),
      start(ctx, { seed: 21, faults }),
      start(ctx, { seed: 22, faults }),
    ]);
    const t0 = performance.now();
    const statuses = await together(a, 40);
    const elapsed = performance.now() - t0;
    await Promise.all([together(b, 40), together(c, 40)]);
    expect(statuses).toEqual(Array(40).fill(201));
    const delays = a.stats().answerDelayMs;
    expect(delays.count).toBe(40);
    expect(delays.min).toBeGreaterThanOrEqual(100);
    expect(delays.max).toBeLessThanOrEqual(200);
    // 40 seeded draws: the spread covers most of the 100 ms range (exact for this seed).
    expect(delays.max - delays.min).toBeGreaterThan(60);
    // A timer never fires early: the slowest answer took at least the largest delay drawn.
    expect(elapsed).toBeGreaterThanOrEqual(delays.max - 2);
    expect(b.stats().answerDelayMs).toEqual(delays);
    expect(c.stats().answerDelayMs).not.toEqual(delays);
  });

  it('is set at runtime with POST /_emulator/faults, and low latencies are cut at 0', async (ctx) => {
    const emu = await start(ctx, { seed: 4 });
    await together(emu, 10);
    expect(emu.stats().answerDelayMs).toEqual({ count: 10, min: 0, max: 0, mean: 0 });
    const res = await request(`${emu.url}/_emulator/faults`, {
      method: 'POST',
      body: JSON.stringify({ latencyMs: 10, latencyJitterMs: 40 }),
    });
    expect(await res.body.json()).toMatchObject({ latencyMs: 10, latencyJitterMs: 40 });
    emu.reset();
    await together(emu, 40);
    const delays = emu.stats().answerDelayMs;
    // Draws in [-30, 50] ms, cut at 0: some answers are immediate, none waits over 50 ms.
    expect(delays).toMatchObject({ count: 40, min: 0 });
    expect(delays.max).toBeLessThanOrEqual(50);
    expect(delays.max).toBeGreaterThan(20);
  });
});

// Both clients run side by side, ~5 s each: they are slow by nature (paced over 1.5 windows).
describe.concurrent('arrival jitter at a 60 per 3 s limit', () => {
  const limit = { track: { limit: 60, windowMs: 3000 } };

  it('bites a client that sends exactly at the limit: some of its requests get 429', async (ctx) => {
    const emu = await start(ctx, { seed: 5, rateLimits: limit, faults: { arrivalJitterMs: 250 } });
    const statuses = await paced(emu, 90, 3000 / 60);
    const stats = emu.stats();
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThan(0);
    expect(stats.rateLimited).toBe(statuses.filter((s) => s === 429).length);
    // The limiter still holds at the moments it counted: never more than 60 in any 3 s.
    expect(stats.maxTrackRequestsIn3s).toBeLessThanOrEqual(60);
    expect(stats.arrivalDelayMs.count).toBe(90);
    expect(stats.arrivalDelayMs.max).toBeLessThan(250);
  });

  it('spares a client whose spacing leaves more slack than the jitter: no 429', async (ctx) => {
    // A 3 s window of counting moments holds only requests that arrived within 3 s + 250 ms, so 60 per
    // 3.25 s is the least slack that is always enough. 60 per 3.5 s leaves 250 ms more for a busy
    // machine's stalls, which bunch the client's sends (it catches up) and the emulator's timers.
    const emu = await start(ctx, { seed: 5, rateLimits: limit, faults: { arrivalJitterMs: 250 } });
    const statuses = await paced(emu, 90, 3500 / 60);
    expect(statuses).toEqual(Array(90).fill(201));
    expect(emu.stats()).toMatchObject({ rateLimited: 0, arrivalDelayMs: { count: 90 } });
  });
});
