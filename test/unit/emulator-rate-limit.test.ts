import { describe, expect, it } from 'vitest';
import {
  FixedWindowLimiter,
  newRateDecision,
  type RateLimiter,
  SlidingWindowLimiter,
  TimestampRing,
  WindowMax,
} from '../../src/emulator/rate-limit.js';

/** Runs requests at the given times; returns which were admitted. */
function run(limiter: RateLimiter, times: number[]): boolean[] {
  const d = newRateDecision();
  return times.map((t) => limiter.take(t, d).allowed);
}

describe('SlidingWindowLimiter', () => {
  it('admits `limit` requests per window and reports remaining / reset / retry-after', () => {
    const l = new SlidingWindowLimiter(3, 3000);
    const d = newRateDecision();
    expect(l.take(1000, d)).toMatchObject({ allowed: true, remaining: 2, resetAtMs: 4000 });
    l.take(1500, d);
    expect(l.take(2000, d)).toMatchObject({ allowed: true, remaining: 0 });
    expect(l.take(2100, d)).toMatchObject({ allowed: false, remaining: 0, resetAtMs: 4000, retryAfterS: 2 });
    // The oldest admission leaves at exactly t0 + window: the window is (now - 3000, now].
    expect(l.take(3999, d).allowed).toBe(false);
    expect(l.take(4000, d)).toMatchObject({ allowed: true, remaining: 0, resetAtMs: 4500 });
  });

  it('never admits more than the limit in any window, unlike a fixed window at a boundary', () => {
    // 3 requests just before a fixed-window boundary and 3 just after.
    const times = [2997, 2998, 2999, 3000, 3001, 3002];
    expect(run(new FixedWindowLimiter(3, 3000), times)).toEqual([true, true, true, true, true, true]);
    expect(run(new SlidingWindowLimiter(3, 3000), times)).toEqual([true, true, true, false, false, false]);
  });

  it('does not count rejected requests, so a client that waits as told gets through', () => {
    const l = new SlidingWindowLimiter(2, 1000);
    expect(run(l, [0, 0])).toEqual([true, true]);
    // Hammering while limited must not push the recovery time back.
    expect(run(l, [100, 200, 300, 999])).toEqual([false, false, false, false]);
    expect(run(l, [1000, 1000, 1000])).toEqual([true, true, false]);
  });

  it('retry-after is at least one second', () => {
    const l = new SlidingWindowLimiter(1, 3000);
    const d = newRateDecision();
    l.take(0, d);
    expect(l.take(2999, d)).toMatchObject({ allowed: false, retryAfterS: 1 });
  });
});

describe('FixedWindowLimiter', () => {
  it('uses epoch-aligned windows and resets at the boundary', () => {
    const l = new FixedWindowLimiter(2, 1000);
    const d = newRateDecision();
    expect(l.take(10_100, d)).toMatchObject({ allowed: true, remaining: 1, resetAtMs: 11_000 });
    l.take(10_200, d);
    expect(l.take(10_300, d)).toMatchObject({ allowed: false, retryAfterS: 1, resetAtMs: 11_000 });
    expect(l.take(11_000, d)).toMatchObject({ allowed: true, remaining: 1, resetAtMs: 12_000 });
  });
});

describe('TimestampRing and WindowMax', () => {
  it('grows past its initial capacity and keeps order', () => {
    const r = new TimestampRing(2);
    for (let t = 0; t < 100; t++) r.push(t);
    r.dropUpTo(49);
    expect(r.size).toBe(50);
    expect(r.oldest()).toBe(50);
    for (let t = 100; t < 300; t++) r.push(t);
    r.dropUpTo(250);
    expect(r.oldest()).toBe(251);
  });

  it('finds the busiest window', () => {
    const w = new WindowMax(3000);
    for (const t of [0, 100, 2999, 3000, 3001, 9000]) w.record(t);
    expect(w.max).toBe(4); // 100, 2999, 3000, 3001 fall in (1, 3001]
  });

  it('a sliding limiter keeps every window at or under the limit under random load', () => {
    const l = new SlidingWindowLimiter(50, 1000);
    const admitted = new WindowMax(1000);
    const d = newRateDecision();
    let t = 0;
    for (let i = 0; i < 20_000; i++) {
      t += (i * 7919) % 13; // deterministic uneven arrivals, several per ms at times
      if (l.take(t, d).allowed) admitted.record(t);
    }
    expect(admitted.max).toBe(50);
  });
});
