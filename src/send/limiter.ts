import type { RateLimit } from '../../schemas/config.js';

/**
 * How sending keeps under Braze's limit: a gate (src/send/gate.ts) that hands out send times so that
 * any `max` consecutive ones span at least `spanMs`. A sliding window of `windowMs` then never holds
 * more than `max` requests, as long as the time between a request's slot and its arrival at Braze
 * varies by less than the slack (`spanMs - windowMs`).
 */
export interface GateSettings {
  max: number;
  spanMs: number;
}

export function gateFor(limit: RateLimit, slackMs = 100): GateSettings {
  return { max: limit.max, spanMs: limit.windowMs + slackMs };
}

/** The most the gate lets through in the long run, in requests per millisecond. */
export function gateRate(g: GateSettings): number {
  return g.max / g.spanMs;
}

export interface LimiterSettings {
  /** BullMQ Worker `limiter`: at most `max` job starts per fixed window of `duration` ms. */
  max: number;
  duration: number;
}

/**
 * The BullMQ limiter that goes with the gate. It does not pace anything: the gate does, and this one
 * allows at least twice as many starts. It is there because BullMQ makes a 429 pause
 * (`queue.rateLimit`) reach every worker of the queue only when a limiter is configured
 * (bullmq-notes 1.4). Its window is one second: a worker that hits it (or puts a chunk back) waits
 * for the window to end, and a closing worker waits with it.
 */
export function bullLimiterFor(limit: RateLimit): LimiterSettings {
  return { max: Math.max(100, Math.ceil((2 * limit.max * 1000) / limit.windowMs)), duration: 1000 };
}

/**
 * Reference model of the gate's rule (src/send/gate.ts runs it in Redis), for tests and the bench.
 * `times` holds every time handed out so far, in order (a late request's abandoned time included).
 * `last` is the latest time handed out (or the end of a 429 pause).
 */
export interface GateState {
  times: number[];
  last: number;
}

export function nextSlot(state: GateState, now: number, g: GateSettings): number {
  const n = state.times.length;
  let at = Math.max(now, state.last);
  if (n >= g.max) at = Math.max(at, state.times[n - g.max]! + g.spanMs);
  return at;
}
