import { describe, expect, it } from 'vitest';
import type { RateLimit } from '../../schemas/config.js';
import { mulberry32 } from '../../src/emulator/faults.js';
import {
  after429,
  afterRemaining,
  bullLimiterFor,
  DEFAULT_SLACK_MS,
  type GateState,
  lateMs,
  longRunRate,
  MAX_SLACK_MS,
  newGateState,
  nextSlot,
  takeSlot,
} from '../../src/send/limiter.js';
import { maxInWindow } from '../helpers/windows.js';

interface Sim {
  /** When each request left, and when Braze counted it (after the network's jitter). */
  left: number[];
  counted: number[];
}

/**
 * Requests become ready at `readyAt(i)`; at most `concurrency` are between taking a time and
 * leaving. Each takes the gate's next time (coming back at time - horizon when it is too far ahead)
 * and leaves `late(time)` ms after it (a stalled event loop). One later than lateMs(slack) takes a
 * new time, as a worker does, unless `retake` is off. Braze counts it `jitter()` ms after it left.
 */
function simulate(
  limits: RateLimit[],
  n: number,
  readyAt: (i: number) => number,
  o: {
    late?: (time: number) => number;
    jitter?: () => number;
    concurrency?: number;
    retake?: boolean;
    state?: GateState;
  } = {},
): Sim {
  const { late = () => 0, jitter = () => 0, concurrency = 32, retake = true } = o;
  const state = o.state ?? newGateState();
  const left: number[] = [];
  const counted: number[] = [];
  for (let i = 0; i < n; i++) {
    let now = Math.max(readyAt(i), i >= concurrency ? left[i - concurrency]! : 0);
    for (;;) {
      const time = takeSlot(state, now, limits);
      if (time === undefined) {
        now = nextSlot(state, now, limits) - (limits[0]!.windowMs + state.slackMs);
        continue;
      }
      const leave = time + late(time);
      if (!retake || leave - time <= lateMs(state.slackMs)) {
        left.push(leave);
        counted.push(leave + jitter());
        break;
      }
      now = leave;
    }
  }
  return { left, counted };
}

const sorted = (xs: number[]) => [...xs].sort((a, b) => a - b);
const worst = (times: number[], l: RateLimit) => maxInWindow(sorted(times), l.windowMs);

describe('the send rule', () => {
  const limit = { max: 3000, windowMs: 3000 };
  const patterns = {
    'a backlog': (i: number) => i * 0.2,
    'just over the limit': (i: number) => i * 0.99,
    bursts: (i: number) => Math.floor(i / 5000) * 4000,
    'slower than the limit': (i: number) => i * 1.5,
  };

  it.each(Object.entries(patterns))('never lets more than the limit into a window: %s', (_, readyAt) => {
    expect(worst(simulate([limit], 20_000, readyAt).left, limit)).toBeLessThanOrEqual(limit.max);
  });

  // Every 2 s the process stalls for 300 ms: what was due then leaves when it ends, all at once.
  const stalled = (time: number) => {
    const into = time % 2000;
    return into >= 500 && into < 800 ? 800 - into : 0;
  };

  it.each(Object.entries(patterns))(
    'holds when the sender stalls for 300 ms now and then: %s',
    (_, readyAt) => {
      expect(worst(simulate([limit], 20_000, readyAt, { late: stalled }).left, limit)).toBeLessThanOrEqual(
        limit.max,
      );
    },
  );

  it('would break the limit if late requests left anyway (why they take a new time)', () => {
    // Stalls longer than the slack: what was due in one leaves all at once with the next window's.
    const long = (time: number) => {
      const into = time % 4000;
      return into >= 500 && into < 1300 ? 1300 - into : 0;
    };
    const left = simulate([limit], 20_000, patterns['just over the limit'], { late: long, retake: false });
    expect(
      worst(simulate([limit], 20_000, patterns['just over the limit'], { late: long }).left, limit),
    ).toBe(limit.max);
    expect(worst(left.left, limit)).toBeGreaterThan(limit.max);
  });

  it.each([0, 100, 250])(
    'holds when Braze counts each request up to %i ms after it left (jitter), with the default slack',
    (j) => {
      const r = mulberry32(j + 7);
      for (const [, readyAt] of Object.entries(patterns)) {
        const sim = simulate([limit], 20_000, readyAt, { late: stalled, jitter: () => r() * j });
        expect(worst(sim.counted, limit)).toBeLessThanOrEqual(limit.max);
      }
      // The same at a small limit, where one request is a large share of it.
      const small = { max: 60, windowMs: 3000 };
      const sim = simulate([small], 2000, () => 0, { jitter: () => r() * j });
      expect(worst(sim.counted, small)).toBeLessThanOrEqual(small.max);
    },
  );

  it('the jitter it absorbs is the slack less the lateness: more than that breaks the limit', () => {
    const r = mulberry32(3);
    const small = { max: 60, windowMs: 3000 };
    const tight = simulate([small], 3000, () => 0, { state: newGateState(50), jitter: () => r() * 400 });
    expect(worst(tight.counted, small)).toBeGreaterThan(small.max);
  });

  it('with a backlog, sends the first window at once, then the limit per window plus slack', () => {
    const sim = simulate([limit], 13_334, () => 0, { concurrency: 100_000 });
    expect(sim.left.slice(0, 3000).every((s) => s === 0)).toBe(true);
    const span = limit.windowMs + DEFAULT_SLACK_MS;
    expect(sim.left.at(-1)).toBe(4 * span);
    expect(longRunRate([limit]) * 1000).toBeCloseTo(3000 / 3.3, 6);
    // Even at the default slack the long-run rate is above 0.9 of the limit.
    expect((longRunRate([limit]) * limit.windowMs) / limit.max).toBeGreaterThan(0.9);
  });

  it('never makes a request wait when it comes slower than the limit', () => {
    const readyAt = (i: number) => i * 1.5; // 667/s against 1,000/s allowed
    expect(simulate([limit], 10_000, readyAt).left.every((s, i) => s === readyAt(i))).toBe(true);
  });

  it('holds several limits at once: a burst limit and a longer one (an hourly limit, scaled down)', () => {
    const burst = { max: 30, windowMs: 300 };
    const hourly = { max: 200, windowMs: 6000 };
    const sim = simulate([burst, hourly], 1000, (i) => i * 2, { concurrency: 1000 });
    expect(worst(sim.left, burst)).toBeLessThanOrEqual(burst.max);
    expect(worst(sim.left, hourly)).toBeLessThanOrEqual(hourly.max);
    // The burst limit alone would allow more than the hourly one in its window: the hourly one bites.
    expect(worst(simulate([burst], 1000, (i) => i * 2, { concurrency: 1000 }).left, hourly)).toBeGreaterThan(
      hourly.max,
    );
  });

  it('a 429 holds every time until the pause ends and doubles the slack, up to a cap', () => {
    const state = newGateState();
    for (let i = 0; i < 10; i++) takeSlot(state, 0, [limit]);
    after429(state, 100, 5000);
    expect(nextSlot(state, 200, [limit])).toBe(5100);
    expect(state.slackMs).toBe(2 * DEFAULT_SLACK_MS);
    for (let i = 0; i < 10; i++) after429(state, 100, 1);
    expect(state.slackMs).toBe(MAX_SLACK_MS);
  });

  it("waits for Braze's reset when its window is spent by more than ours, and not before", () => {
    const state = newGateState();
    for (let i = 0; i < 10; i++) takeSlot(state, 0, [limit]);
    afterRemaining(state, 1000, 500, 2000, 3000, [limit]);
    expect(nextSlot(state, 1000, [limit])).toBe(1000);
    // Braze counted 2,999; our 10 cannot account for them: another client spends the budget.
    afterRemaining(state, 1000, 1, 2000, 3000, [limit]);
    expect(nextSlot(state, 1000, [limit])).toBe(3000);
  });

  it('does not hold when our own requests account for what Braze counted', () => {
    // A full window of ours at once: Braze says 0 left, and a Reset rounded up to whole seconds.
    const state = newGateState();
    for (let i = 0; i < 3000; i++) takeSlot(state, i / 3, [limit]);
    afterRemaining(state, 1000, 0, 3000, 3000, [limit]);
    expect(state.holdUntil).toBe(0);
    expect(nextSlot(state, 1000, [limit])).toBe(3000 + DEFAULT_SLACK_MS);
    // Ours a window and the slack old no longer count: the same answer now means someone else.
    afterRemaining(state, 4000 + DEFAULT_SLACK_MS, 0, 3000, 3000, [limit]);
    expect(state.holdUntil).toBe(7000 + DEFAULT_SLACK_MS);
  });

  it('compares with the limit Braze names, else the burst one', () => {
    const hourly = { max: 100, windowMs: 3_600_000 };
    const burst = { max: 10, windowMs: 1000 };
    const state = newGateState(0);
    for (let i = 0; i < 10; i++) takeSlot(state, 0, [burst, hourly]);
    afterRemaining(state, 500, 0, 1000, 10, [burst, hourly]); // 10 counted, 10 of ours
    expect(state.holdUntil).toBe(0);
    afterRemaining(state, 500, 1, 1000, 100, [burst, hourly]); // 99 counted this hour, 10 of ours
    expect(state.holdUntil).toBe(1500);
    const other = newGateState(0);
    for (let i = 0; i < 10; i++) takeSlot(other, 0, [burst]);
    afterRemaining(other, 500, 0, 1000, 40, [burst]); // a limit we do not know: 40 counted, 10 ours
    expect(other.holdUntil).toBe(1500);
  });

  it('lets a late request leave within a sixth of the slack, 10 to 50 ms', () => {
    expect(lateMs(300)).toBe(50);
    expect(lateMs(120)).toBe(20);
    expect(lateMs(0)).toBe(10);
  });

  it.each([limit, { max: 1, windowMs: 60_000 }, { max: 10, windowMs: 100 }])(
    'keeps BullMQ’s own limiter loose and short for %o: it must never pace the run, nor hold a closing worker',
    (l) => {
      const b = bullLimiterFor(l);
      expect(b.max / b.duration).toBeGreaterThanOrEqual(2 * longRunRate([l]));
      expect(b.duration).toBeLessThanOrEqual(1000);
    },
  );
});

describe('expected duration at the limits', () => {
  it('is set by the limit that lets the fewest through per its window', async () => {
    const { durationNote, expectedDuration } = await import('../../src/send/limiter.js');
    const burst = { max: 3000, windowMs: 3000 };
    const hourly = { max: 250_000, windowMs: 3_600_000 };
    expect(expectedDuration(2000, [burst, hourly]).ms).toBe(0);
    expect(expectedDuration(13_334, [burst, hourly])).toEqual({ ms: 4 * 3300, limit: burst });
    const big = expectedDuration(300_000, [burst, hourly]);
    expect(big.limit).toBe(hourly);
    expect(big.ms).toBe(3_600_000 + 300);
    expect(durationNote(300_000, [burst, hourly])).toBe(
      '300000 requests take about 60 min at 3000/3s, 250000/1h: longer than the 250000/1h budget allows at once',
    );
    expect(durationNote(13_334, [burst])).toBe('13334 requests take about 13 s at 3000/3s');
  });
});
