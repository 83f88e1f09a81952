import type { RateLimit } from '../../schemas/config.js';

/**
 * The sending rule, in one place: when a request may leave so that Braze never counts more than a
 * limit's `max` requests in any sliding window of its length, for every limit of a contract at once
 * (a 3 s burst limit and an hourly one, say), shared by every process of a rate group.
 *
 * The rule (the gate in Redis, src/send/gate.ts, runs the same in Lua): request n's send time is the
 * latest of now, the previous request's time, the end of a hold (after a 429, or when Braze says its
 * count runs ahead of ours), and, for each limit, the bound of the request `max` places back plus the
 * window. A request's bound is the latest moment Braze can have counted it:
 *   - once the gate heard of its answer, the moment it heard (Braze counts a request between its
 *     leaving and its answer, and Redis's clock reads the report after the answer came); or its own
 *     time, if it never left (it took a new time, its run stopped);
 *   - until then, its guess: its time plus the slack (the network's jitter, see below; a late request
 *     that kept its place has a later guess: retime).
 * The answer is a bound for certain, the guess by the slack's measure, the guess the rule always made.
 * An answer later than the guess still sets the bound: it shows the guess may have been wrong. (Taking
 * the earlier of the two let a request the emulator counted 300 ms late, answered 400 ms after its
 * time, share a window with the request `max` places on: 2 429s in 2 of 7 runs of a fleet test on a
 * busy machine.) Where answers come sooner than the slack (a near Braze, a lightly loaded one), the
 * next window opens that much sooner: a window plus the time answers take, not a window plus the slack.
 *
 * Why that holds a window to `max`: requests leave no sooner than their times, and times rise with
 * the place. Take any window of Braze's and the request m of the highest place counted in it. Every
 * request j at least `max` places before m was counted no later than its bound, and m's time is at
 * least that bound plus the window (the previous request's time carries each older bound on), while
 * m was counted after its time: so j was counted more than a window before m, outside. Only the
 * `max - 1` places before m and m itself remain.
 *
 * Why the slack, for a request not answered yet: a request leaves a little after its time, and
 * reaches Braze's counter after the network and Braze's own queueing. Call J the most by which an
 * older request's path can be slower than a newer one's (the jitter, measured from the times the gate
 * handed out). Requests counted in one window of Braze's were given times within window + J of each
 * other, so no window holds more than `max` as long as slack >= J. Bursting the first window's budget
 * at once is safe by the same argument (test/unit/limiter.test.ts simulates jittered arrivals), and it
 * is what lets a run use all of it.
 *
 * How large: learned from Braze's answers (see observe and learnedSlack). Until they show the
 * jitter, the slack is the start value (BRAZE_RATE_SLACK_MS, 300 ms: it tolerates 250 ms of jitter).
 * How long answers took bounds how far apart Braze can have counted two requests, and Braze's count
 * in an answer (X-RateLimit-Limit less Remaining) says how far around the request's time its window
 * must have reached among ours; the slack follows the larger, at most the start value: it falls after
 * answers show less, and rises back at once. A 429 proves it wrong: the slack doubles (from at least
 * the start value) and never goes below that again while the group's gate lives.
 */
export const DEFAULT_SLACK_MS = 300;
export const MAX_SLACK_MS = 2000;
/** How long the largest jitter seen holds before answers that show less can lower it. */
export const JITTER_EPOCH_MS = 20_000;

/**
 * The slack for a jitter of `jitterMs` that Braze's counts show and a spread of `spreadMs` in how
 * long answers took: the larger of twice the one and the other, plus 40 ms (what no answer has shown
 * yet), at most MAX_SLACK_MS. The counts show how far requests counted late and early fail to cancel
 * out; the spread of answer times bounds how far apart they can be counted at all (Braze counts a
 * request between its leaving and its answer), and covers what cancelling hides: with 250 ms of
 * arrival jitter, the counts alone showed as little as 4 ms after a first few hundred answers, and
 * a slack learned from them met 429s (7 in one of six runs of the bench's (j)). Simulated
 * (test/unit/limiter.test.ts): with uniform jitter of 250 and 500 ms at 600/3 s, 1.5 J + 20 let a
 * window take 601 in 2 runs of 24; this margin, none of 48.
 */
export const SLACK_PER_JITTER = 2;
export const SLACK_OVER_JITTER_MS = 40;
export function learnedSlack(jitterMs: number, spreadMs = 0): number {
  const need = Math.max(SLACK_PER_JITTER * jitterMs, spreadMs);
  return Math.min(MAX_SLACK_MS, Math.ceil(need) + SLACK_OVER_JITTER_MS);
}

/**
 * Answers to take in before the first estimate replaces the start value, and before an epoch may
 * lower it: half a burst window's worth, at least 20 and at most 300 (senders send a sample of at most
 * 320 a second: gate.ts SEEN_BATCH).
 */
export function answersForEstimate(burstMax: number): number {
  return Math.min(300, Math.max(20, Math.ceil(burstMax / 2)));
}

/** Braze's count in an answer below a quarter of the burst limit says nothing the gate needs. */
export function worthObserving(counted: number, burstMax: number): boolean {
  return counted >= Math.max(1, burstMax / 4) && counted <= burstMax;
}

/**
 * How late a request may leave and still use its time: a sixth of the slack (the larger of the
 * learned one and the start value), 10 to 50 ms. Lateness is part of the jitter the answers show.
 */
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
 * `holdUntil` the end of a hold; `slackMs` the slack in force (see slackOf); the rest is what it is
 * made of: the start value, a 429's floor, the jitter and spread estimates (-1: none yet) and the
 * epoch that may lower them (the largest jitter seen in it, -1: none; how many counts; when it began;
 * the least and most time answers took).
 */
export interface GateState {
  times: number[];
  /**
   * Per place: a re-timed request's guess (retime; 0: its time plus the slack), and the moment the
   * gate heard it was answered, or its own time if it never left (0: nothing heard yet).
   */
  guesses: number[];
  heard: number[];
  last: number;
  holdUntil: number;
  slackMs: number;
  startMs: number;
  floorMs: number;
  jitterMs: number;
  /** The spread of answer times (-1: none yet), and the epoch's least and most (-1: none). */
  spreadMs: number;
  epochMax: number;
  epochCount: number;
  epochFrom: number;
  epochRttLo: number;
  epochRttHi: number;
}

export function newGateState(slackMs = DEFAULT_SLACK_MS): GateState {
  return {
    times: [],
    guesses: [],
    heard: [],
    last: 0,
    holdUntil: 0,
    slackMs,
    startMs: slackMs,
    floorMs: 0,
    jitterMs: -1,
    spreadMs: -1,
    epochMax: -1,
    epochCount: 0,
    epochFrom: 0,
    epochRttLo: -1,
    epochRttHi: -1,
  };
}

/**
 * The slack in force: the learned one, at most the start value (the start value until there is an
 * estimate), and not below a 429's floor. Learning only ever lowers it; 429s raise it.
 */
export function slackOf(startMs: number, floorMs: number, jitterMs: number, spreadMs: number): number {
  return Math.max(floorMs, jitterMs < 0 ? startMs : Math.min(startMs, learnedSlack(jitterMs, spreadMs)));
}

/** The next send time at `now` (not yet taken). */
export function nextSlot(state: GateState, now: number, limits: readonly RateLimit[]): number {
  const n = state.times.length;
  let at = Math.max(now, state.last, state.holdUntil);
  for (const l of limits) {
    if (n >= l.max) at = Math.max(at, boundOf(state, n - l.max) + l.windowMs);
  }
  return at;
}

/**
 * The latest moment Braze can have counted the request at `place` (see the rule above): the moment the
 * gate heard of its answer, else its guess.
 */
export function boundOf(state: GateState, place: number): number {
  const heard = state.heard[place] ?? 0;
  return heard > 0 ? heard : state.guesses[place] || state.times[place]! + state.slackMs;
}

/**
 * The gate heard at `now` that the request at `place` was answered (`left`), or that it never left and
 * never will (it took a new time, its run stopped; then its own time is what is heard). Only the first
 * word counts.
 */
export function settleBound(state: GateState, place: number, now: number, left: boolean): void {
  if (!unheard(state, place)) return;
  state.heard[place] = left ? now + HEARD_MARGIN_MS : state.times[place]!;
}

/** A place handed out whose answer (or that it never left) the gate has not heard of yet. */
function unheard(state: GateState, place: number): boolean {
  return place >= 0 && place < state.times.length && !((state.heard[place] ?? 0) > 0);
}

/**
 * Added to the moment an answer was heard of: the gate's clock keeps whole ms, and Braze may count a
 * request later within the same ms.
 */
export const HEARD_MARGIN_MS = 1;

/**
 * How late a re-timed request may still leave: what a busy process takes to hear back from Redis
 * (63-67 ms at the median and up to 199 ms, measured in runs whose late requests took new times).
 */
export const RETIME_MS = 250;

/**
 * A request that is late for its time (lateMs) asks at `now` to leave anyway: its guessed bound
 * becomes now plus the slack plus RETIME_MS, and it must leave within lateMs(slack) + RETIME_MS of
 * asking. Refused (it must take a new time, as before) once the gate heard of it, or once the request
 * `max` places on, for any limit, has taken its time: that time rested on the old guess. So a late
 * request keeps its place instead of spending a second one, which, when a busy process made most
 * requests late, cost up to 40% of the limit.
 */
export function retime(state: GateState, place: number, now: number, limits: readonly RateLimit[]): boolean {
  const n = state.times.length;
  if (!unheard(state, place) || limits.some((l) => place < n - l.max)) return false;
  state.guesses[place] = now + state.slackMs + RETIME_MS;
  return true;
}

/** Takes the next time unless it is beyond the horizon (then undefined: come back later). */
export function takeSlot(state: GateState, now: number, limits: readonly RateLimit[]): number | undefined {
  const at = nextSlot(state, now, limits);
  if (at - now > horizonMs(limits, state.slackMs)) return undefined;
  state.times.push(at);
  state.last = at;
  return at;
}

/**
 * A 429 (hold for what Braze asked): the jitter was more than the slack allowed for, so the slack
 * doubles, from at least the start value, and stays at least that.
 */
export function after429(state: GateState, now: number, waitMs: number): void {
  state.holdUntil = Math.max(state.holdUntil, now + waitMs);
  state.floorMs = widened(Math.max(state.slackMs, state.startMs));
  state.slackMs = slackOf(state.startMs, state.floorMs, state.jitterMs, state.spreadMs);
}

/** How many places back the gate still knows a time for Braze's count to be checked against. */
export function historyPlaces(burstMax: number): number {
  return 2 * burstMax;
}

/**
 * How far past its window Braze's count is looked for among our times (1 s, at most half the window):
 * a count that needs more is someone else's.
 */
export function jitterLookMs(windowMs: number): number {
  return Math.min(1000, Math.floor(windowMs / 2));
}
/** An answer tells the jitter only if one of ours was given a time at most this before its window. */
export const DENSE_MS = 20;

/**
 * Braze's answers to requests of ours: `[place, counted]` pairs, the place of the request's time t
 * and Braze's count of the burst limit when it counted it (X-RateLimit-Limit less Remaining, of that
 * limit only). If no two of our requests' paths to Braze's counter differ by more than x, every
 * request it counted with this one has a time in (t - window - x, t + x]: so the jitter was at least
 * the least x (whole ms) with `counted` of our times there. (Others' requests in the count only
 * overstate it; a count that even jitterLookMs cannot account for is someone else's spending, left
 * to afterRemaining.) A pair is left out when the gate no longer keeps the times it needs (places
 * more than historyPlaces back, nor jitterLookMs before the window), for a place not handed out,
 * and when none of ours had a time within DENSE_MS before the window: then nothing was there to be
 * counted late, and the answer says nothing of the jitter (all a burst's answers: its times are
 * alike and the slack left a gap before them), so a burst's schedule keeps the start value.
 * The estimate rises at once to the largest seen, is first set after answersForEstimate answers, and
 * at the end of an epoch of JITTER_EPOCH_MS with that many answers falls to the largest the epoch saw.
 */
export function observe(
  state: GateState,
  now: number,
  pairs: ReadonlyArray<readonly [number, number]>,
  burst: RateLimit,
  answered?: readonly [number, number],
): void {
  if (answered) {
    const [lo, hi] = answered;
    if (state.epochRttLo < 0 || lo < state.epochRttLo) state.epochRttLo = lo;
    if (hi > state.epochRttHi) state.epochRttHi = hi;
  }
  const { times } = state;
  const n = times.length;
  const oldest = Math.max(0, n - historyPlaces(burst.max));
  const look = jitterLookMs(burst.windowMs);
  // The first place from the oldest kept whose time is after v (times rise with the place).
  const firstAfter = (v: number) => {
    let lo = oldest;
    let hi = n;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (times[mid]! > v) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  };
  for (const [place, counted] of pairs) {
    if (counted < 1 || counted > burst.max || place < oldest || place >= n) continue;
    const t = times[place]!;
    if (oldest > 0 && times[oldest]! > t - burst.windowMs - look) continue;
    // Only where ours were close on both sides of the window's far end can a count show how late an
    // older one was counted: a burst's answers (every time alike, the slack's gap before) show nothing.
    const edge = firstAfter(t - burst.windowMs) - 1;
    if (edge < oldest || t - burst.windowMs - times[edge]! > DENSE_MS) continue;
    const ours = (x: number) => firstAfter(t + x) - firstAfter(t - burst.windowMs - x);
    let lo = Math.max(state.epochMax, 0);
    if (ours(lo) < counted) {
      if (ours(look) < counted) continue;
      let hi = look;
      while (lo + 1 < hi) {
        const mid = Math.floor((lo + hi) / 2);
        if (ours(mid) >= counted) hi = mid;
        else lo = mid;
      }
      state.epochMax = hi;
    }
    if (state.epochCount === 0) state.epochFrom = now;
    state.epochMax = Math.max(state.epochMax, 0);
    state.epochCount++;
  }
  const enough = state.epochCount >= answersForEstimate(burst.max);
  const spread = state.epochRttLo < 0 ? 0 : state.epochRttHi - state.epochRttLo;
  if (state.jitterMs < 0 && enough) {
    state.jitterMs = state.epochMax;
    state.spreadMs = spread;
  } else if (state.jitterMs >= 0) {
    state.jitterMs = Math.max(state.jitterMs, state.epochMax);
    state.spreadMs = Math.max(state.spreadMs, spread);
  }
  if (state.jitterMs >= 0 && enough && now - state.epochFrom >= JITTER_EPOCH_MS) {
    state.jitterMs = state.epochMax;
    state.spreadMs = spread;
    state.epochMax = -1;
    state.epochCount = 0;
    state.epochFrom = now;
    state.epochRttLo = -1;
    state.epochRttHi = -1;
  }
  state.slackMs = slackOf(state.startMs, state.floorMs, state.jitterMs, state.spreadMs);
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
