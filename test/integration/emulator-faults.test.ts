import { request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { type Emulator, type EmulatorOptionsInput, startEmulator } from '../../src/emulator/index.js';

const KEY = 'fault-key';
const opened: Emulator[] = [];

afterEach(async () => {
  await Promise.all(opened.splice(0).map((e) => e.close()));
});

async function start(options: EmulatorOptionsInput = {}): Promise<Emulator> {
  const emu = await startEmulator({ port: 0, apiKey: KEY, ...options });
  opened.push(emu);
  return emu;
}

const event = (id: string) => ({ events: [{ external_id: id, name: 'paid', time: '2024-01-01T00:00:00Z' }] });

/** Status code, or the error code when the connection died or timed out. */
async function track(
  emu: Emulator,
  body: unknown = event('u'),
  timeoutMs?: number,
): Promise<number | string> {
  try {
    const res = await request(`${emu.url}/users/track`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify(body),
      signal: timeoutMs === undefined ? undefined : AbortSignal.timeout(timeoutMs),
    });
    await res.body.dump();
    return res.statusCode;
  } catch (err) {
    const { code, name } = err as { code?: unknown; name?: string };
    return typeof code === 'string' ? code : (name ?? 'error');
  }
}

async function sequential(emu: Emulator, n: number): Promise<Array<number | string>> {
  const out: Array<number | string> = [];
  for (let i = 0; i < n; i++) out.push(await track(emu, event(`u${i}`)));
  return out;
}

describe('fault injection over HTTP', () => {
  it('5xx faults do not apply the body', async () => {
    const emu = await start({ faults: { failRate: 1 } });
    const statuses = await sequential(emu, 20);
    expect(statuses.every((s) => [500, 502, 503, 504].includes(s as number))).toBe(true);
    expect(emu.stats()).toMatchObject({ users: 0, events: 0, faults: { failed: 20 } });
  });

  it('resets before applying lose the body; resets after applying keep it and are counted', async () => {
    const before = await start({ faults: { resetRate: 1 } });
    expect(await track(before)).toMatch(/^UND_ERR_SOCKET|ECONNRESET$/);
    expect(before.stats()).toMatchObject({ events: 0, users: 0, faults: { resetBeforeApply: 1 } });

    const after = await start({ faults: { resetRate: 1, resetMode: 'after' } });
    expect(await track(after)).toMatch(/^UND_ERR_SOCKET|ECONNRESET$/);
    expect(after.getUser('u')?.events).toHaveLength(1);
    expect(after.stats().faults.resetAfterApply).toBe(1);
  });

  it('a slow answer beyond the client timeout is still applied, so a retry duplicates the event', async () => {
    const emu = await start({ faults: { slowRate: 1, slowMs: 400 } });
    expect(await track(emu, event('dup'), 100)).toBe('TimeoutError');
    emu.setFaults({ slowRate: 0 });
    expect(await track(emu, event('dup'), 100)).toBe(201);
    expect(emu.getUser('dup')?.events).toHaveLength(2);
    expect(emu.stats().faults.slow).toBe(1);
  });

  it('latency is added to every answer', async () => {
    const emu = await start({ faults: { latencyMs: 150 } });
    const t0 = performance.now();
    expect(await track(emu)).toBe(201);
    expect(performance.now() - t0).toBeGreaterThanOrEqual(140);
  });

  it('injected 429 bursts carry Retry-After and do not use the rate window', async () => {
    const emu = await start({
      rateLimits: { track: { limit: 4, windowMs: 60_000 } },
      faults: { burst429Every: 3, burst429Length: 2, burst429RetryAfterS: 7 },
    });
    const res = await request(`${emu.url}/users/track`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: '{}',
    });
    await res.body.dump();
    // Requests 3-4, 6-7, 9-10, ... are injected 429s.
    expect(await sequential(emu, 7)).toEqual([201, 429, 429, 201, 429, 429, 201]);
    // Injected 429s used no window slots: 4 admitted so far (#1 answered 400), so #11 meets the real limit.
    expect(await sequential(emu, 3)).toEqual([429, 429, 429]);
    expect(emu.stats()).toMatchObject({ rateLimited: 1, faults: { burst429: 6 } });
    const injected = await request(`${emu.url}/users/track`, {
      method: 'POST',
      headers: { authorization: `Bearer ${KEY}` },
      body: '{}',
    });
    await injected.body.dump();
    expect(injected.statusCode).toBe(429);
    expect(injected.headers['x-ratelimit-retry-after']).toBe('7');
  });

  it('POST /_emulator/faults turns faults on and off mid-run and rejects bad settings', async () => {
    const emu = await start();
    const patch = async (body: unknown) => {
      const res = await request(`${emu.url}/_emulator/faults`, {
        method: 'POST',
        body: JSON.stringify(body),
      });
      return { status: res.statusCode, json: (await res.body.json()) as Record<string, unknown> };
    };
    expect(await track(emu)).toBe(201);
    expect(await patch({ failRate: 1, failStatuses: [503] })).toMatchObject({
      status: 200,
      json: { failRate: 1 },
    });
    expect(await sequential(emu, 3)).toEqual([503, 503, 503]);
    expect((await patch({ failRate: 0 })).status).toBe(200);
    expect(await track(emu)).toBe(201);
    const bad = await patch({ failRate: 3, resetMode: 'sometimes', nope: 1 });
    expect(bad.status).toBe(400);
    expect(bad.json['errors']).toHaveLength(3);
    expect(emu.faults().failRate).toBe(0);
  });

  it('the same seed replays the same faults; another seed does not', async () => {
    const faults = { failRate: 0.3, resetRate: 0.1 };
    const a = await sequential(await start({ seed: 7, faults }), 40);
    const b = await sequential(await start({ seed: 7, faults }), 40);
    const c = await sequential(await start({ seed: 8, faults }), 40);
    expect(b).toEqual(a);
    expect(c).not.toEqual(a);
    expect(a.filter((s) => s !== 201).length).toBeGreaterThan(3);
  });

  it("queued answers are Braze's old 202 and the body is applied", async () => {
    const emu = await start({ faults: { queuedRate: 1 } });
    expect(await track(emu, event('q'))).toBe(202);
    expect(emu.getUser('q')?.events).toHaveLength(1);
  });

  it('close() does not wait for delayed answers or idle keep-alive sockets', async () => {
    const emu = await start({ faults: { slowRate: 1, slowMs: 30_000 } });
    const pending = track(emu);
    await new Promise((r) => setTimeout(r, 50));
    const t0 = performance.now();
    await emu.close();
    expect(performance.now() - t0).toBeLessThan(1000);
    expect(typeof (await pending)).toBe('string');
  });
});

describe('asynchronous processing (reorderMs)', () => {
  it('answers at once and applies later, so two requests for one user may end in the other order', async () => {
    const emu = await startEmulator({ port: 0, apiKey: 'k', faults: { reorderMs: 200 } });
    try {
      const send = (id: string, v: number) =>
        fetch(`${emu.url}/users/track`, {
          method: 'POST',
          headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
          body: JSON.stringify({ attributes: [{ external_id: id, v }] }),
        });
      // One after the other, each answered before the next leaves: in order as far as a client can.
      for (let i = 0; i < 40; i++) {
        expect((await send(`u${i}`, 1)).status).toBe(201);
        expect((await send(`u${i}`, 2)).status).toBe(201);
      }
      await new Promise((r) => setTimeout(r, 300));
      const older = Array.from({ length: 40 }, (_, i) => emu.getUser(`u${i}`)?.attributes['v']).filter(
        (v) => v === 1,
      );
      // Braze documents no order between requests; the emulator shows it can end either way.
      expect(older.length).toBeGreaterThan(0);
      expect(older.length).toBeLessThan(40);
    } finally {
      await emu.close();
    }
  });

  it('is off by default: answered requests are applied, in order', async () => {
    const emu = await startEmulator({ port: 0, apiKey: 'k' });
    try {
      for (const v of [1, 2]) {
        await fetch(`${emu.url}/users/track`, {
          method: 'POST',
          headers: { authorization: 'Bearer k', 'content-type': 'application/json' },
          body: JSON.stringify({ attributes: [{ external_id: 'a', v }] }),
        });
      }
      expect(emu.getUser('a')?.attributes['v']).toBe(2);
    } finally {
      await emu.close();
    }
  });
});
