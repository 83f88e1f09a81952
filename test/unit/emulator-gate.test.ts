import { describe, expect, it } from 'vitest';
import { type Arrived, createGate, isAnswer } from '../../src/emulator/gate.js';
import { resolveOptions } from '../../src/emulator/options.js';
import { createState } from '../../src/emulator/state.js';

const KEY = 'gate-key';
const BULK = '/users/track/bulk';

function setup() {
  const opts = resolveOptions({
    apiKey: KEY,
    seed: 1,
    rateLimits: { bulk: { limit: 1, windowMs: 1000 } },
    faults: { buckets: ['bulk'], latencyMs: 50, latencyJitterMs: 20, arrivalJitterMs: 100 },
  });
  const state = createState(opts);
  return { state, gate: createGate(state) };
}

function arrived(next: unknown): Arrived {
  if (isAnswer(next as Arrived)) throw new Error('expected an arrival');
  return next as Arrived;
}

describe('emulator gate: arrival, then counting', () => {
  it('records arrivals when they come in and admissions and 429s when they are counted', () => {
    const { state, gate } = setup();
    const a = gate.arrive('POST', BULK, KEY, 1000);
    const b = gate.arrive('POST', BULK, KEY, 1100);
    expect(a.waitMs).toBeGreaterThan(0);
    expect(a.waitMs).toBeLessThan(100);
    const bulk = () => state.stats.snapshot().endpoints[BULK];
    expect(bulk()).toMatchObject({ requests: 2, admitted: 0, firstAt: 1000, lastAt: 1100 });
    // Counted in the other order, both at 5 s: b takes the one place of the window, a gets the 429.
    const admitted = gate.count(arrived(b.next), 5000);
    expect(isAnswer(admitted)).toBe(false);
    const refused = gate.count(arrived(a.next), 5001);
    expect(refused).toMatchObject({ status: 429, headers: { 'X-RateLimit-Reset': 6 } });
    // A 429 waits the latency drawn at arrival.
    expect(refused).toMatchObject({ delayMs: arrived(a.next).fault.latencyMs });
    expect(bulk()).toMatchObject({
      requests: 2,
      admitted: 1,
      rateLimited: 1,
      maxArrivalsInWindow: 2,
      maxRequestsInWindow: 1,
    });
    expect(state.stats.snapshot()).toMatchObject({ rateLimited: 1, arrivalDelayMs: { count: 2 } });
  });

  it('a request outside the targeted buckets waits nothing and draws no dice; nor does a 404', () => {
    const { state, gate } = setup();
    const track = gate.arrive('POST', '/users/track', KEY, 1000);
    expect(track.waitMs).toBe(0);
    expect(arrived(track.next).fault).toMatchObject({ latencyMs: 0, delayMs: 0 });
    expect(gate.arrive('GET', BULK, KEY, 1000)).toEqual({
      next: { status: 404, body: '{"message":"Not Found"}', headers: {}, delayMs: 0, counters: undefined },
      waitMs: 0,
    });
    expect(gate.arrive('POST', '/users/track', 'nobody', 1000)).toMatchObject({
      next: { status: 401, delayMs: 0 },
      waitMs: 0,
    });
    // The first bulk request meets the dice it would meet in a gate that saw nothing before it.
    const bulk = gate.arrive('POST', BULK, KEY, 1000);
    const alone = setup().gate.arrive('POST', BULK, KEY, 1000);
    expect(bulk.waitMs).toBeGreaterThan(0);
    expect(bulk.waitMs).toBe(alone.waitMs);
    expect(arrived(bulk.next).fault).toEqual(arrived(alone.next).fault);
    expect(state.stats.snapshot().arrivalDelayMs).toMatchObject({ count: 4, min: 0, max: alone.waitMs });
  });
});
