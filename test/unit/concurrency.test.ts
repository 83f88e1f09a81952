import { describe, expect, it } from 'vitest';
import {
  type ConcurrencyRule,
  FREEZE_MS,
  initialConcurrency,
  onAnswer,
  onPushback,
  targetFor,
} from '../../src/send/concurrency.js';

// 3,000 requests per 3 s: one a millisecond.
const rule: ConcurrencyRule = { ratePerMs: 1, min: 4, max: 256 };

describe('requests in flight sized to the latency (Little’s law)', () => {
  it('asks for rate x latency with headroom: 150 ms at 1,000/s is about 227', () => {
    expect(targetFor(rule, 150)).toBe(227);
    expect(targetFor(rule, 5)).toBe(10);
    expect(targetFor(rule, 10_000)).toBe(256); // capped
    expect(targetFor({ ...rule, ratePerMs: 0.001 }, 150)).toBe(4); // a slow contract: the minimum
  });

  it('grows towards the target by at most half again per answer, and shrinks when latency falls', () => {
    const s = initialConcurrency(rule);
    expect(s.limit).toBe(150);
    const seen: number[] = [];
    for (let i = 0; i < 20; i++) {
      onAnswer(s, rule, 150, 0);
      seen.push(s.limit);
    }
    expect(seen.at(-1)).toBe(227);
    for (let i = 1; i < seen.length; i++) expect(seen[i]! / seen[i - 1]!).toBeLessThanOrEqual(1.5);
    for (let i = 0; i < 200; i++) onAnswer(s, rule, 10, 0);
    expect(s.limit).toBe(targetFor(rule, s.latencyMs));
    expect(s.limit).toBeLessThan(30);
  });

  it('after a push-back (429, 5xx, timeout): halves at once, and adds no load until the freeze ends', () => {
    const s = initialConcurrency(rule);
    for (let i = 0; i < 30; i++) onAnswer(s, rule, 200, 0);
    const before = s.limit;
    onPushback(s, rule, 1000);
    expect(s.limit).toBe(Math.floor(before / 2));
    for (let i = 0; i < 30; i++) onAnswer(s, rule, 200, 1000 + FREEZE_MS - 1);
    expect(s.limit).toBe(Math.floor(before / 2));
    onAnswer(s, rule, 200, 1000 + FREEZE_MS);
    expect(s.limit).toBeGreaterThan(Math.floor(before / 2));
    // Never below the minimum, however often pushed back.
    for (let i = 0; i < 20; i++) onPushback(s, rule, 0);
    expect(s.limit).toBe(rule.min);
  });
});
