import { describe, expect, it } from 'vitest';
import { createRateGate } from '../../src/send/gate.js';
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
      const got = await Promise.all(Array.from({ length: 1000 }, (_, i) => (i % 2 ? a : b).take()));
      // Redis runs the scripts one at a time (times never go back; places count up within a time);
      // in that order, each time is what the model gives.
      const inOrder = [...got].sort((x, y) => x.time - y.time || x.place - y.place);
      const model: GateState = { times: [], last: 0 };
      for (const [i, r] of inOrder.entries()) {
        expect(r.time).toBe(nextSlot(model, r.now, g));
        expect(r.place).toBe(i % 100);
        model.times.push(r.time);
        model.last = r.time;
      }
      expect(maxInWindow(model.times, 1000)).toBeLessThanOrEqual(100);
      // Asked for all at once: ten windows' worth, nine spans after the first.
      expect(model.times.at(-1)! - model.times[0]!).toBeGreaterThanOrEqual(9 * g.spanMs);
      expect(model.times.at(-1)! - inOrder.at(-1)!.now).toBeLessThanOrEqual(9 * g.spanMs);
    } finally {
      await other.quit();
    }
  });

  it('a request that left late pushes back the one a limit later', async () => {
    const g = gateFor({ max: 2, windowMs: 60_000 });
    const gate = createRateGate(t.redis(), t.prefix(), 'q', g);
    const first = await gate.take();
    await gate.take();
    await new Promise((r) => setTimeout(r, 30));
    gate.leaving(first); // 30 ms after its time
    const third = await gate.take();
    expect(third.place).toBe(first.place);
    expect(third.time).toBeGreaterThanOrEqual(first.time + 30 + g.spanMs);
  });

  it('a request that leaves on time saves the call: the one a limit later keeps its distance from the time given', async () => {
    const g = gateFor({ max: 2, windowMs: 60_000 });
    const gate = createRateGate(t.redis(), t.prefix(), 'q', g);
    const first = await gate.pass();
    expect(first.due).toBeDefined();
    await new Promise((r) => setTimeout(r, 30)); // Redis's clock is now past the first time
    // Leaving before the earliest moment it could be due: on time, nothing is recorded.
    gate.leaving({ ...first, due: performance.now() + 1000 });
    await gate.take();
    const third = await gate.take(); // first's place
    expect(third.time).toBe(first.time + g.spanMs);
  });

  it('a late leaving does not overwrite a newer time in its place', async () => {
    const g = gateFor({ max: 1, windowMs: 10 });
    const gate = createRateGate(t.redis(), t.prefix(), 'q', g);
    const first = await gate.take();
    const second = await gate.take(); // the same place, a span later
    gate.leaving(first);
    const third = await gate.take();
    expect(third.time).toBe(Math.max(third.now, second.time + g.spanMs));
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
    const keys = await t.redis().keys(`${prefix}:q:gate:*`);
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
