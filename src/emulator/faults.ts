/**
 * Seeded fault injection. Every request draws the same number of random values whatever the rates are,
 * so for a given seed the n-th request meets the same dice even after a rate is changed at runtime.
 * Faults apply to the rate-limit buckets in `buckets` ('all' by default); a request to another bucket
 * meets no fault at all: no dice drawn (the fault dice, nor the latency and arrival jitter dice), no
 * latency or jitter of either kind, no scripted outcome used up, no reordering.
 */

export interface FaultConfig {
  /** The rate-limit buckets ('track', 'bulk', 'users', ...) whose requests meet faults, or 'all'. */
  buckets: 'all' | string[];
  /** Probability of answering 5xx without applying the body. */
  failRate: number;
  failStatuses: number[];
  /** Probability of destroying the socket instead of answering. */
  resetRate: number;
  /** 'before': the body is not applied; 'after': it is applied, then the socket dies (client cannot know). */
  resetMode: 'before' | 'after';
  /** Added to every Braze-endpoint response (of the targeted buckets). */
  latencyMs: number;
  /**
   * Each answer waits `latencyMs` plus a uniform draw in [-latencyJitterMs, +latencyJitterMs], never
   * less than 0: a far Braze whose round trips vary. Its own dice (seed + 2), so turning it on does not
   * change which faults the n-th request meets.
   */
  latencyJitterMs: number;
  /**
   * A request is counted against the rate limit, and admitted or refused, only a uniform [0, N) ms
   * after it arrived, as if it queued in a load balancer: requests reach the limiter later than they
   * left the client, and not in the order they left it. Its own dice too (seed + 3).
   */
  arrivalJitterMs: number;
  /** Probability of an extra `slowMs` delay; the body IS applied, so a client that times out and retries duplicates. */
  slowRate: number;
  slowMs: number;
  /** Every N-th request (0 = never) starts a burst of `burst429Length` injected 429s that do not use the window. */
  burst429Every: number;
  burst429Length: number;
  burst429RetryAfterS: number;
  /** Probability of Braze's old maintenance answer: 202 {"message":"queued"} (body applied). */
  queuedRate: number;
  /**
   * Braze processes /users/track asynchronously: with this above 0, an accepted request is answered
   * at once and applied a random 0..reorderMs later, so two requests for one user that arrive close
   * together may be applied in the other order. Off (0) by default.
   */
  reorderMs: number;
  /**
   * The outcomes of the next requests, one each, in order, before the dice decide again: 'ok', a
   * reset before or after applying the body, an injected '429', or a 5xx status (body not applied).
   * For tests that need one exact sequence (a reset after apply, then a 500, then a success).
   */
  script: ScriptedFault[];
}

/** Offsets from the seed of the jitter dice (the asynchronous-processing dice use + 1, state.ts). */
const LATENCY_DICE = 2;
const ARRIVAL_DICE = 3;

export type ScriptedFault = 'ok' | 'reset-before' | 'reset-after' | '429' | number;

export const DEFAULT_FAULTS: FaultConfig = {
  buckets: 'all',
  failRate: 0,
  failStatuses: [500, 502, 503, 504],
  resetRate: 0,
  resetMode: 'before',
  latencyMs: 0,
  latencyJitterMs: 0,
  arrivalJitterMs: 0,
  slowRate: 0,
  slowMs: 0,
  burst429Every: 0,
  burst429Length: 1,
  burst429RetryAfterS: 1,
  queuedRate: 0,
  reorderMs: 0,
  script: [],
};

export interface FaultDecision {
  burst429: boolean;
  reset: 'none' | 'before' | 'after';
  /** 0 when the request should not fail. */
  failStatus: number;
  queued: boolean;
  slow: boolean;
  /** This request's answer latency (latencyMs with its jitter); a 429 waits this long. */
  latencyMs: number;
  /** latencyMs, plus slowMs for a slow answer. */
  delayMs: number;
}

export function newFaultDecision(): FaultDecision {
  return {
    burst429: false,
    reset: 'none',
    failStatus: 0,
    queued: false,
    slow: false,
    latencyMs: 0,
    delayMs: 0,
  };
}

/** mulberry32: tiny, fast, good enough for test dice; returns floats in [0, 1). */
export function mulberry32(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export class FaultInjector {
  private cfg: FaultConfig;
  private rng: () => number;
  /** Dice of their own, so that the jitters never shift the fault dice's sequence. */
  private latencyRng: () => number;
  private arrivalRng: () => number;
  private seed: number;
  private requests = 0;
  private burstLeft = 0;

  constructor(config: Partial<FaultConfig>, seed: number) {
    this.cfg = { ...DEFAULT_FAULTS, ...config };
    this.seed = seed;
    this.rng = mulberry32(seed);
    this.latencyRng = mulberry32(seed + LATENCY_DICE);
    this.arrivalRng = mulberry32(seed + ARRIVAL_DICE);
  }

  /** Whether requests to this bucket meet faults; undefined (no route) only when every bucket does. */
  applies(bucket: string | undefined): boolean {
    const { buckets } = this.cfg;
    return buckets === 'all' || (bucket !== undefined && buckets.includes(bucket));
  }

  get burst429RetryAfterS(): number {
    return this.cfg.burst429RetryAfterS;
  }

  get reorderMs(): number {
    return this.cfg.reorderMs;
  }

  get config(): FaultConfig {
    const { buckets } = this.cfg;
    return {
      ...this.cfg,
      buckets: buckets === 'all' ? buckets : [...buckets],
      failStatuses: [...this.cfg.failStatuses],
      script: [...this.cfg.script],
    };
  }

  /** Merges a patch; a new seed restarts the dice and the burst counter. */
  update(patch: Partial<FaultConfig>, seed?: number): FaultConfig {
    const buckets = patch.buckets ?? this.cfg.buckets;
    this.cfg = {
      ...this.cfg,
      ...patch,
      buckets: buckets === 'all' ? buckets : [...buckets],
      script: [...(patch.script ?? this.cfg.script)],
    };
    if (seed !== undefined) this.restart(seed);
    return this.config;
  }

  restart(seed: number = this.seed): void {
    this.seed = seed;
    this.rng = mulberry32(seed);
    this.latencyRng = mulberry32(seed + LATENCY_DICE);
    this.arrivalRng = mulberry32(seed + ARRIVAL_DICE);
    this.requests = 0;
    this.burstLeft = 0;
  }

  /**
   * One answer's latency: latencyMs plus a uniform draw in [-J, +J], never below 0, in whole ms. Draws
   * once per call whatever the settings, so the n-th answer meets the same dice after a change.
   */
  latency(): number {
    const { latencyMs, latencyJitterMs } = this.cfg;
    const r = this.latencyRng();
    return Math.max(0, Math.round(latencyMs + (2 * r - 1) * latencyJitterMs));
  }

  /** How long one request waits before it is counted against the limit: uniform in [0, J) ms. */
  arrivalDelay(): number {
    return this.arrivalRng() * this.cfg.arrivalJitterMs;
  }

  /** The fault dice of one request that passed auth; draws its answer latency too (latency()). */
  decide(out: FaultDecision): FaultDecision {
    const c = this.cfg;
    out.latencyMs = this.latency();
    const rReset = this.rng();
    const rFail = this.rng();
    const rStatus = this.rng();
    const rSlow = this.rng();
    const rQueued = this.rng();
    this.requests++;
    const scripted = c.script.shift();
    if (scripted !== undefined) return scriptedDecision(scripted, out);
    out.burst429 = this.nextIsBurst();
    out.reset = rReset < c.resetRate ? c.resetMode : 'none';
    out.failStatus = rFail < c.failRate ? pick(c.failStatuses, rStatus) : 0;
    out.queued = rQueued < c.queuedRate;
    out.slow = rSlow < c.slowRate && c.slowMs > 0;
    out.delayMs = out.latencyMs + (out.slow ? c.slowMs : 0);
    return out;
  }

  private nextIsBurst(): boolean {
    if (this.burstLeft > 0) {
      this.burstLeft--;
      return true;
    }
    const every = this.cfg.burst429Every;
    if (every > 0 && this.requests % every === 0) {
      this.burstLeft = Math.max(0, this.cfg.burst429Length - 1);
      return true;
    }
    return false;
  }
}

function scriptedDecision(f: ScriptedFault, out: FaultDecision): FaultDecision {
  out.burst429 = f === '429';
  out.reset = f === 'reset-before' ? 'before' : f === 'reset-after' ? 'after' : 'none';
  out.failStatus = typeof f === 'number' ? f : 0;
  out.queued = false;
  out.slow = false;
  out.delayMs = out.latencyMs;
  return out;
}

function pick(statuses: number[], r: number): number {
  return statuses[Math.floor(r * statuses.length)] ?? 503;
}
