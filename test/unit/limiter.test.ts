import { describe, expect, it } from 'vitest';
import { LATE_MS } from '../../src/send/gate.js';
import {
  bullLimiterFor,
  type GateSettings,
  type GateState,
  gateFor,
  gateRate,
  nextSlot,
} from '../../src/send/limiter.js';
import { maxInWindow } from '../helpers/windows.js';

/**
 * Requests become ready at `readyAt(i)`; at most `concurrency` are between taking a time and
 * leaving. Each takes the gate's next time and leaves `late(time)` ms after it (a stalled event
 * loop). One later than LATE_MS takes a new time when it notices, as a worker does, unless `retake`
 * is off. Returns when each one left.
 */
function simulate(
  g: GateSettings,
  n: number,
  readyAt: (i: number) => number,
  late: (time: number) => number = () => 0,
  { concurrency = 32, retake = true } = {},
): number[] {
  const state: GateState = { times: [], last: 0 };
  const left: number[] = [];
  for (let i = 0; i < n; i++) {
    let now = Math.max(readyAt(i), i >= concurrency ? left[i - concurrency]! : 0);
    for (;;) {
      const time = nextSlot(state, now, g);
      state.times.push(time);
      state.last = time;
      const leave = time + late(time);
      if (!retake || leave - time <= LATE_MS) {
        left.push(leave);
        break;
      }
      now = leave;
    }
  }
  return left;
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);

describe('the send gate', () => {
  const limit = { max: 3000, windowMs: 3000 };
  const g = gateFor(limit);
  const patterns = {
    'a backlog': (i: number) => i * 0.2,
    'just over the limit': (i: number) => i * 0.99,
    bursts: (i: number) => Math.floor(i / 5000) * 4000,
    'slower than the limit': (i: number) => i * 1.5,
  };

  it.each(Object.entries(patterns))('never lets more than the limit into a window: %s', (_, readyAt) => {
    expect(maxInWindow(simulate(g, 20_000, readyAt), limit.windowMs)).toBeLessThanOrEqual(limit.max);
  });

  // Every 2 s the process stalls for 300 ms: what was due then leaves when it ends, all at once.
  const stalled = (time: number) => {
    const into = time % 2000;
    return into >= 500 && into < 800 ? 800 - into : 0;
  };

  it.each(Object.entries(patterns))(
    'holds when the sender stalls for 300 ms now and then: %s',
    (_, readyAt) => {
      const left = simulate(g, 20_000, readyAt, stalled);
      expect(maxInWindow(sorted(left), limit.windowMs)).toBeLessThanOrEqual(limit.max);
    },
  );

  it('holds for a small limit with many requests waiting ahead of their times, when the sender stalls', () => {
    // 10 per second with 32 requests in flight: times are handed out three windows ahead.
    const small = { max: 10, windowMs: 1000 };
    const left = simulate(gateFor(small), 2000, () => 0, stalled);
    expect(maxInWindow(sorted(left), small.windowMs)).toBeLessThanOrEqual(small.max);
  });

  it('would break the limit if late requests left anyway (why they take a new time)', () => {
    const left = simulate(g, 20_000, patterns['just over the limit'], stalled, { retake: false });
    expect(maxInWindow(sorted(left), limit.windowMs)).toBeGreaterThan(limit.max);
    const small = { max: 10, windowMs: 1000 };
    const leftSmall = simulate(gateFor(small), 2000, () => 0, stalled, { retake: false });
    expect(maxInWindow(sorted(leftSmall), small.windowMs)).toBeGreaterThan(small.max);
  });

  it('with a backlog, sends the first window at once and then the limit per span', () => {
    const left = simulate(g, 13_334, () => 0, undefined, { concurrency: 100_000 });
    expect(left.slice(0, 3000).every((s) => s === 0)).toBe(true);
    // 13,334 requests: four full spans, then the rest at the start of the fifth.
    expect(left.at(-1)).toBe(4 * g.spanMs);
    expect(gateRate(g) * 1000).toBeCloseTo(3000 / 3.1, 6);
  });

  it('never makes a request wait when it comes slower than the limit', () => {
    const readyAt = (i: number) => i * 1.5; // 667/s against 1,000/s allowed
    expect(simulate(g, 10_000, readyAt).every((s, i) => s === readyAt(i))).toBe(true);
  });

  it.each([
    { max: 20000, windowMs: 60_000 },
    { max: 10, windowMs: 1000 },
    { max: 1, windowMs: 1000 },
  ])('holds for %o', (l) => {
    const gl = gateFor(l);
    const left = simulate(gl, 5 * l.max + 1, () => 0, undefined, { concurrency: 100_000 });
    expect(maxInWindow(left, l.windowMs)).toBeLessThanOrEqual(l.max);
    expect(left.at(-1)).toBe(5 * gl.spanMs);
  });

  it.each([limit, { max: 1, windowMs: 60_000 }, { max: 10, windowMs: 100 }])(
    'keeps BullMQ’s own limiter loose and short for %o: it must never pace the run, nor hold a closing worker',
    (l) => {
      const b = bullLimiterFor(l);
      expect(b.max / b.duration).toBeGreaterThanOrEqual(2 * gateRate(gateFor(l)));
      expect(b.duration).toBeLessThanOrEqual(1000);
    },
  );
});
