import { describe, expect, it } from 'vitest';
import { limiterFor, worstCaseStarts } from '../../src/send/limiter.js';

/** Simulates BullMQ's fixed windows with the worst placement: each window opens right after the last. */
function maxInSlidingWindow(max: number, duration: number, windowMs: number, totalMs: number): number {
  const starts: number[] = [];
  for (let j = 0; j * duration < totalMs; j++) {
    // Even windows bunch their starts at their end, odd ones at their start: the burst case.
    const at = j % 2 === 0 ? j * duration + duration - 1 : j * duration;
    for (let i = 0; i < max; i++) starts.push(at);
  }
  let best = 0;
  let lo = 0;
  for (let hi = 0; hi < starts.length; hi++) {
    while (starts[hi]! - starts[lo]! >= windowMs) lo++;
    best = Math.max(best, hi - lo + 1);
  }
  return best;
}

describe('limiterFor', () => {
  it('keeps 3000/3s under the limit in every sliding window and reaches over 90% of it', () => {
    const s = limiterFor({ max: 3000, windowMs: 3000 });
    expect(worstCaseStarts(s, 3100)).toBeLessThanOrEqual(3000);
    expect(maxInSlidingWindow(s.max, s.duration, 3000, 20_000)).toBeLessThanOrEqual(3000);
    expect((s.max / s.duration) * 1000).toBeGreaterThanOrEqual(900);
  });

  it.each([
    { max: 20000, windowMs: 60_000 },
    { max: 1000, windowMs: 60_000 },
    { max: 10, windowMs: 1000 },
    { max: 250000, windowMs: 3_600_000 },
  ])('holds for %o', (limit) => {
    const s = limiterFor(limit);
    expect(worstCaseStarts(s, limit.windowMs)).toBeLessThanOrEqual(limit.max);
    expect(maxInSlidingWindow(s.max, s.duration, limit.windowMs, limit.windowMs * 7)).toBeLessThanOrEqual(
      limit.max,
    );
    // Safe, and still most of the allowed rate.
    expect(s.max / s.duration).toBeGreaterThanOrEqual((0.8 * limit.max) / limit.windowMs);
  });

  it('would burst to twice the limit with one window the size of Braze’s (the reason for short windows)', () => {
    expect(maxInSlidingWindow(3000, 3000, 3000, 20_000)).toBeGreaterThan(3000);
  });
});
