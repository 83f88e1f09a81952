import { describe, expect, it } from 'vitest';
import { createRateGate, LATE_MS } from '../../src/send/gate.js';
import { type GateState, gateFor, nextSlot } from '../../src/send/limiter.js';
import { testRedis, useTestRedis } from '../helpers/redis.js';
import { maxInWindow } from '../helpers/windows.js';

const t = useTestRedis('gate');

describe('send gate in Redis', () => {
  it('hands out the same times as the model, shared by two connections', async () => {
    const g = gateFor({ max: 100, windowMs: 1000 });
    const prefix = t.prefix();
    const other = testRedis();
    try {
      const a = createRateGate(t.redis(), prefix, 'q', g);
      const b = createRateGate(other, prefix, 'q', g);
      // Asked for all at once: two windows' worth are handed out (the second a span later), the rest
      // would be more than a span away and are not.
      const got = await Promise.all(Array.from({ length: 300 }, (_, i) => (i % 2 ? a : b).take()));
      expect(got.filter((r) => r.place < 0)).toHaveLength(100);
      // Redis runs the scripts one at a time (times never go back; places count up within a time);
      // in that order, each time handed out is what the model gives.
      const inOrder = got.filter((r) => r.place >= 0).sort((x, y) => x.time - y.time || x.place - y.place);
      const model: GateState = { times: [], last: 0 };
      for (const [i, r] of inOrder.entries()) {
        expect(r.time).toBe(nextSlot(model, r.now, g));
        expect(r.place).toBe(i % 100);
        model.times.push(r.time);
        model.last = r.time;
      }
      expect(maxInWindow(model.times, 1000)).toBeLessThanOrEqual(100);
      expect(model.times[100]! - model.times[0]!).toBeGreaterThanOrEqual(g.spanMs);
      expect(model.times.at(-1)! - inOrder.at(-1)!.now).toBeLessThanOrEqual(g.spanMs);
    } finally {
      await other.quit();
    }
  });

  it('does not hand out a time more than a span away: a stopped worker leaves at most a span booked', async () => {
    const g = gateFor({ max: 1, windowMs: 1000 });
    const gate = createRateGate(t.redis(), t.prefix(), 'q', g);
    const first = await gate.take();
    const second = await gate.take(); // a span after the first
    expect(second.place).toBe(0);
    expect(second.time).toBe(first.time + g.spanMs);
    const third = await gate.take(); // two spans away: not handed out
    expect(third.place).toBe(-1);
    expect(third.time).toBe(second.time + g.spanMs);
    // Nothing was booked: asking again gives the same answer.
    const again = await gate.take();
    expect(again.place).toBe(-1);
    expect(again.time).toBe(third.time);
  });

  it('pass() comes back for a time that was too far ahead, and waits for it', async () => {
    const g = gateFor({ max: 1, windowMs: 100 });
    const gate = createRateGate(t.redis(), t.prefix(), 'q', g);
    const a = await gate.take();
    await gate.take(); // a span ahead
    const c = await gate.pass(); // two spans ahead at first: comes back, then waits
    expect(c.place).toBe(0);
    expect(c.time).toBe(a.time + 2 * g.spanMs);
    expect(c.due).toBeDefined();
  });

  it('a request is on time within LATE_MS of the earliest moment it could be due, late after it', async () => {
    const g = gateFor({ max: 1000, windowMs: 1000 });
    const gate = createRateGate(t.redis(), t.prefix(), 'q', g);
    const slot = await gate.pass();
    expect(gate.onTime({ ...slot, due: performance.now() })).toBe(true);
    expect(gate.onTime({ ...slot, due: performance.now() - LATE_MS - 20 })).toBe(false);
  });

  it('after a 429, hands out no time before the pause ends', async () => {
    const g = gateFor({ max: 1000, windowMs: 1000 });
    const gate = createRateGate(t.redis(), t.prefix(), 'q', g);
    const first = await gate.take();
    expect(first.time).toBe(first.now);
    await gate.holdOff(5000);
    const next = await gate.take();
    expect(next.time).toBeGreaterThanOrEqual(first.now + 5000);
  });

  it('forgets its times once they are a span old', async () => {
    const g = gateFor({ max: 5, windowMs: 100 });
    const prefix = t.prefix();
    const gate = createRateGate(t.redis(), prefix, 'q', g);
    await gate.take();
    const keys = await t.redis().keys(`${prefix}:gate:q:*`);
    expect(keys).toHaveLength(1);
    // One string: the count, the newest time, then 8 bytes a place.
    expect(await t.redis().strlen(keys[0]!)).toBe(3 * 8);
    await Promise.all(Array.from({ length: 9 }, () => gate.take()));
    expect(await t.redis().strlen(keys[0]!)).toBe((2 + 5) * 8);
    const ttl = await t.redis().pttl(keys[0]!);
    expect(ttl).toBeGreaterThan(0);
    expect(ttl).toBeLessThanOrEqual(2 * g.spanMs + 1000);
  });
});
