import type { RateLimit } from '../../schemas/config.js';

/**
 * The sending rule, in one place: when a request may leave so that Braze never counts more than a
 * limit's `max` requests in any sliding window of its length, for every limit of a contract at once
 * (a 3 s burst limit and an hourly one, say), shared by every process of a rate group.
 *
 * The rule (the gate in Redis, src/send/gate.ts, runs the same in Lua): request n's send time is the
 * latest of now, the previous request's time, the end of a hold (after a 429, or when Braze says its
 * count runs ahead of ours), and, for each limit, the time of the request `max` places back plus the
 * window plus the slack. Any `max + 1` requests in a row therefore span more than window + slack.
 *
 * Why the slack, and how large: a request leaves at most `lateMs(slack)` after its time (a later one
 * takes a new time), and reaches Braze's counter after the network and Braze's own queueing, which
 * vary by some jitter J. Requests counted in one window of Braze's were sent within window + J + late
 * of each other, so no window holds more than `max` as long as slack >= J + late. The default
 * tolerates 250 ms of jitter; a 429 doubles the slack for the rest of the run (up to 2 s), for every
 * process of the group. Bursting the first window's budget at once is safe by the same argument
 * (test/unit/limiter.test.ts simulates jittered arrivals), and it is what lets a run use all of it.
 */
export const DEFAULT_SLACK_MS = 300;
export const MAX_SLACK_MS = 2000;

/** How late a request may leave and still use its time: a sixth of the slack, 10 to 50 ms. */
export function lateMs(slackMs: number): number {
  return Math.min(50, Math.max(10, Math.round(slackMs / 6)));
}

/** The slack after a 429: doubled, at most MAX_SLACK_MS. */
export function widened(slackMs: number): number {
  return Math.min(MAX_SLACK_MS, Math.max(slackMs, 1) * 2);
}

/**
 * Braze's answer says its window is (nearly) spent: Remaining at or below this. Then, if Braze has
 * counted more than our own requests can account for (another client is spending the budget),
 * nothing more leaves until its Reset (see afterRemaining).
 */
export function exhaustedAt(limitMax: number): number {
  return Math.max(2, Math.floor(limitMax / 100));
}

/** Limits sorted shortest window first: the first one is the burst limit that sets the horizon. */
export function normalizeLimits(limits: readonly RateLimit[]): RateLimit[] {
  return [...limits].sort((a, b) => a.windowMs - b.windowMs);
}

/** How far ahead a time may be handed out: the burst window plus the slack. */
export function horizonMs(limits: readonly RateLimit[], slackMs: number): number {
  return (normalizeLimits(limits)[0]?.windowMs ?? 1000) + slackMs;
}

/** The most the rule lets through in the long run, in requests per millisecond. */
export function longRunRate(limits: readonly RateLimit[], slackMs = DEFAULT_SLACK_MS): number {
  return Math.min(...limits.map((l) => l.max / (l.windowMs + slackMs)));
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
 * The reference model of the rule (the gate runs it in Redis), for tests and the bench. `times` holds
 * every time handed out, in order (a late request's abandoned time included); `last` the latest;
 * `holdUntil` the end of a hold; `slackMs` the group's current slack.
 */
export interface GateState {
  times: number[];
  last: number;
  holdUntil: number;
  slackMs: number;
}

export function newGateState(slackMs = DEFAULT_SLACK_MS): GateState {
  return { times: [], last: 0, holdUntil: 0, slackMs };
}

/** The next send time at `now` (not yet taken). */
export function nextSlot(state: GateState, now: number, limits: readonly RateLimit[]): number {
  const n = state.times.length;
  let at = Math.max(now, state.last, state.holdUntil);
  for (const l of limits) {
    if (n >= l.max) at = Math.max(at, state.times[n - l.max]! + l.windowMs + state.slackMs);
  }
  return at;
}

/** Takes the next time unless it is beyond the horizon (then undefined: come back later). */
export function takeSlot(state: GateState, now: number, limits: readonly RateLimit[]): number | undefined {
  const at = nextSlot(state, now, limits);
  if (at - now > horizonMs(limits, state.slackMs)) return undefined;
  state.times.push(at);
  state.last = at;
  return at;
}

/** A 429 (hold for what Braze asked) and the slack widened for the rest of the run. */
export function after429(state: GateState, now: number, waitMs: number): void {
  state.holdUntil = Math.max(state.holdUntil, now + waitMs);
  state.slackMs = widened(state.slackMs);
}

/**
 * How many of our requests Braze can have counted in its window of `limit` when it answered, by
 * `now`: the times handed out in (now - window - slack, now] (a request reaches Braze's counter at
 * most the slack after its time), among the last `max` handed out. Plain reference of the gate's
 * binary search (gate_ours).
 */
export function oursInWindow(state: GateState, now: number, limit: RateLimit): number {
  const from = now - limit.windowMs - state.slackMs;
  let count = 0;
  for (let i = Math.max(0, state.times.length - limit.max); i < state.times.length; i++) {
    const t = state.times[i]!;
    if (t > from && t <= now) count++;
  }
  return count;
}

/**
 * Braze's answer: `remaining` of its limit of `limitMax` (X-RateLimit-Limit; our limit of that max,
 * else the burst limit, is the window to count ours in). When its window is nearly spent and it has
 * counted more than our own requests account for (another client spends the budget), nothing more
 * leaves before its Reset. When our requests account for its count, the gate's own times already
 * keep to the limit: holding until a Reset given in whole seconds would lose up to a second a window
 * (it took 450/3s answered at once from 0.96 of the limit to 0.77).
 */
export function afterRemaining(
  state: GateState,
  now: number,
  remaining: number,
  resetMs: number,
  limitMax: number,
  limits: readonly RateLimit[],
): void {
  const threshold = exhaustedAt(limitMax);
  if (remaining > threshold) return;
  const limit = limits.find((l) => l.max === limitMax) ?? normalizeLimits(limits)[0];
  const ours = limit ? oursInWindow(state, now, limit) : 0;
  if (limitMax - remaining <= ours + threshold) return;
  state.holdUntil = Math.max(state.holdUntil, now + resetMs);
}

/**
 * How long `requests` take at the contract's limits, at best (Braze answering at once): each limit
 * lets `max` through per window plus slack. The longest of them, and which limit sets it.
 */
export function expectedDuration(
  requests: number,
  limits: readonly RateLimit[],
  slackMs = DEFAULT_SLACK_MS,
): { ms: number; limit: RateLimit | undefined } {
  let best: { ms: number; limit: RateLimit | undefined } = { ms: 0, limit: undefined };
  for (const l of limits) {
    const ms = requests > l.max ? Math.ceil(requests / l.max - 1) * (l.windowMs + slackMs) : 0;
    if (ms > best.ms) best = { ms, limit: l };
  }
  return best;
}

/** "3000/3s", "250000/1h": a limit as the user wrote it. */
export function describeLimit(l: RateLimit): string {
  const units: Array<[number, string]> = [
    [3_600_000, 'h'],
    [60_000, 'm'],
    [1000, 's'],
  ];
  for (const [ms, unit] of units) if (l.windowMs % ms === 0) return `${l.max}/${l.windowMs / ms}${unit}`;
  return `${l.max}/${l.windowMs}ms`;
}

/** "45 s", "12 min", "2 h 5 min". */
export function describeMs(ms: number): string {
  const s = Math.round(ms / 1000);
  if (s < 120) return `${s} s`;
  const m = Math.round(s / 60);
  return m < 120 ? `${m} min` : `${Math.floor(m / 60)} h ${m % 60} min`;
}

/**
 * A line for the dry run and the start of a run: how long the requests take at the limits, and a
 * warning when a limit longer than the burst one (an hourly budget) is what sets the pace.
 */
export function durationNote(
  requests: number,
  limits: readonly RateLimit[],
  slackMs = DEFAULT_SLACK_MS,
): string {
  return durationEstimate(requests, limits, slackMs).text;
}

/** durationNote's line, and whether a limit longer than the burst one sets the pace. */
export function durationEstimate(
  requests: number,
  limits: readonly RateLimit[],
  slackMs = DEFAULT_SLACK_MS,
): { text: string; slow: boolean } {
  const { ms, limit } = expectedDuration(requests, limits, slackMs);
  const at = limits.map(describeLimit).join(', ');
  if (!limit)
    return {
      text: `${requests} requests fit the first window of ${at}: at once, as fast as Braze answers`,
      slow: false,
    };
  const slow = limit.windowMs > (normalizeLimits(limits)[0]?.windowMs ?? 0);
  const base = `${requests} requests take about ${describeMs(ms)} at ${at}`;
  return {
    text: slow ? `${base}: longer than the ${describeLimit(limit)} budget allows at once` : base,
    slow,
  };
}
