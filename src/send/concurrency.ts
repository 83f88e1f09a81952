/**
 * How many requests a sending process keeps in flight, sized to the latency it measures: by Little's
 * law, reaching a rate R at a latency L takes R x L requests in flight. Braze is far away (100-300 ms
 * a request), so a fixed 32 would cap the rate at 32 / 0.15 s = 213/s against 1,000/s allowed.
 *
 * Pure: the sender feeds it each answer's latency and each push-back (a 429, a 5xx, a timeout), and
 * applies `limit` to its slots. The rate is the group's whole limit (a process does not know its
 * share; more in flight than its share just waits at the gate). It never adds load after a
 * push-back: the limit halves and does not grow again for a while.
 */
export interface ConcurrencyRule {
  /** The requests per millisecond to reach (the rate limit). */
  ratePerMs: number;
  min: number;
  max: number;
}

export interface ConcurrencyState {
  limit: number;
  /** Moving average of request latency, ms (0 before the first answer). */
  latencyMs: number;
  /** No growth before this (ms since the epoch): after a push-back. */
  frozenUntil: number;
}

/** What Little's law asks for, with headroom for jitter and the time a request waits at the gate. */
export const HEADROOM = 1.5;
/** After a push-back, how long the limit does not grow. */
export const FREEZE_MS = 5000;
/** Weight of the newest latency in the average. */
const ALPHA = 0.1;

export function initialConcurrency(rule: ConcurrencyRule): ConcurrencyState {
  // Until the first answers say otherwise, enough for a Braze answering in 100 ms.
  return { limit: clamp(Math.ceil(rule.ratePerMs * 100 * HEADROOM), rule), latencyMs: 0, frozenUntil: 0 };
}

export function targetFor(rule: ConcurrencyRule, latencyMs: number): number {
  return clamp(Math.ceil(rule.ratePerMs * latencyMs * HEADROOM) + 2, rule);
}

/** An answer came after `ms`: the average moves, and the limit towards its target (up at most 1.5x). */
export function onAnswer(state: ConcurrencyState, rule: ConcurrencyRule, ms: number, now: number): void {
  state.latencyMs = state.latencyMs === 0 ? ms : state.latencyMs + ALPHA * (ms - state.latencyMs);
  const target = targetFor(rule, state.latencyMs);
  if (target < state.limit) state.limit = Math.max(target, Math.floor(state.limit * 0.9));
  else if (now >= state.frozenUntil) state.limit = Math.min(target, Math.ceil(state.limit * 1.5));
}

/** Braze pushed back (429, 5xx, a timeout): half as many in flight, and no growth for a while. */
export function onPushback(state: ConcurrencyState, rule: ConcurrencyRule, now: number): void {
  state.limit = clamp(Math.floor(state.limit / 2), rule);
  state.frozenUntil = now + FREEZE_MS;
}

function clamp(n: number, rule: ConcurrencyRule): number {
  return Math.min(rule.max, Math.max(rule.min, n));
}
