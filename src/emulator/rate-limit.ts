/**
 * Per-bucket request limiters with an injected clock (milliseconds since the epoch).
 * Pure: no timers, no I/O. A rejected request is never recorded, so a client that waits as told recovers.
 */
import type { EmulatorOptions } from './options.js';

/** Growable ring of timestamps, oldest first; every operation is O(1) amortised. */
export class TimestampRing {
  private buf: Float64Array;
  private mask: number;
  private head = 0;
  private count = 0;

  constructor(initialCapacity = 64) {
    let capacity = 1;
    while (capacity < initialCapacity) capacity *= 2;
    this.buf = new Float64Array(capacity);
    this.mask = capacity - 1;
  }

  get size(): number {
    return this.count;
  }

  /** Oldest timestamp still held; NaN when empty. */
  oldest(): number {
    return this.count === 0 ? Number.NaN : (this.buf[this.head] as number);
  }

  push(t: number): void {
    if (this.count === this.buf.length) this.grow();
    this.buf[(this.head + this.count) & this.mask] = t;
    this.count++;
  }

  /** Drops every timestamp <= cutoff (they left the window). */
  dropUpTo(cutoff: number): void {
    while (this.count > 0 && (this.buf[this.head] as number) <= cutoff) {
      this.head = (this.head + 1) & this.mask;
      this.count--;
    }
  }

  clear(): void {
    this.head = 0;
    this.count = 0;
  }

  private grow(): void {
    const next = new Float64Array(this.buf.length * 2);
    for (let i = 0; i < this.count; i++) next[i] = this.buf[(this.head + i) & this.mask] as number;
    this.buf = next;
    this.mask = next.length - 1;
    this.head = 0;
  }
}

/** Reused by callers to avoid one allocation per request. */
export interface RateDecision {
  allowed: boolean;
  limit: number;
  remaining: number;
  /** Epoch ms at which at least one more request will be admitted. */
  resetAtMs: number;
  /** Whole seconds to wait before retrying (>= 1) when not allowed; 0 otherwise. */
  retryAfterS: number;
}

/**
 * The X-RateLimit-* headers of a decision. `resetHeader` says how Reset reads (epoch seconds, or seconds
 * left); `headers429` what a 429 carries: the trio and Retry-After, Retry-After alone, or nothing
 * (braze-api.md §2.4).
 */
export function rateLimitHeaders(
  d: RateDecision,
  now: number,
  opts: Pick<EmulatorOptions, 'resetHeader' | 'headers429'>,
): Record<string, number> {
  if (!d.allowed && opts.headers429 !== 'standard') {
    return opts.headers429 === 'none' ? {} : { 'X-Ratelimit-Retry-After': d.retryAfterS };
  }
  const reset =
    opts.resetHeader === 'epoch'
      ? Math.ceil(d.resetAtMs / 1000)
      : Math.max(0, Math.ceil((d.resetAtMs - now) / 1000));
  const headers: Record<string, number> = {
    'X-RateLimit-Limit': d.limit,
    'X-RateLimit-Remaining': d.remaining,
    'X-RateLimit-Reset': reset,
  };
  if (!d.allowed) headers['X-Ratelimit-Retry-After'] = d.retryAfterS;
  return headers;
}

export function newRateDecision(): RateDecision {
  return { allowed: true, limit: 0, remaining: 0, resetAtMs: 0, retryAfterS: 0 };
}

export interface RateLimiter {
  readonly limit: number;
  readonly windowMs: number;
  take(now: number, out: RateDecision): RateDecision;
  reset(): void;
}

function retryAfter(resetAtMs: number, now: number): number {
  return Math.max(1, Math.ceil((resetAtMs - now) / 1000));
}

/**
 * Exact sliding log: a request at `now` is admitted only if fewer than `limit` requests were admitted in
 * (now - windowMs, now], so no window of that length anywhere in time ever holds more than `limit`.
 */
export class SlidingWindowLimiter implements RateLimiter {
  private readonly log = new TimestampRing();

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  take(now: number, out: RateDecision): RateDecision {
    this.log.dropUpTo(now - this.windowMs);
    const used = this.log.size;
    out.limit = this.limit;
    if (used >= this.limit) {
      out.allowed = false;
      out.remaining = 0;
      out.resetAtMs = used === 0 ? now + this.windowMs : this.log.oldest() + this.windowMs;
      out.retryAfterS = retryAfter(out.resetAtMs, now);
      return out;
    }
    this.log.push(now);
    out.allowed = true;
    out.remaining = this.limit - used - 1;
    out.resetAtMs = this.log.oldest() + this.windowMs;
    out.retryAfterS = 0;
    return out;
  }

  reset(): void {
    this.log.clear();
  }
}

/** Windows aligned to the epoch (Braze says its hourly limits reset on the clock hour). */
export class FixedWindowLimiter implements RateLimiter {
  private windowStart = Number.NEGATIVE_INFINITY;
  private used = 0;

  constructor(
    readonly limit: number,
    readonly windowMs: number,
  ) {}

  take(now: number, out: RateDecision): RateDecision {
    const start = now - (now % this.windowMs);
    if (start !== this.windowStart) {
      this.windowStart = start;
      this.used = 0;
    }
    out.limit = this.limit;
    out.resetAtMs = start + this.windowMs;
    if (this.used >= this.limit) {
      out.allowed = false;
      out.remaining = 0;
      out.retryAfterS = retryAfter(out.resetAtMs, now);
      return out;
    }
    this.used++;
    out.allowed = true;
    out.remaining = this.limit - this.used;
    out.retryAfterS = 0;
    return out;
  }

  reset(): void {
    this.windowStart = Number.NEGATIVE_INFINITY;
    this.used = 0;
  }
}

export type WindowKind = 'sliding' | 'fixed';

export function createLimiter(kind: WindowKind, limit: number, windowMs: number): RateLimiter {
  return kind === 'fixed'
    ? new FixedWindowLimiter(limit, windowMs)
    : new SlidingWindowLimiter(limit, windowMs);
}

/** Largest number of events seen in any window of `windowMs`, using the same (t - w, t] rule as the limiter. */
export class WindowMax {
  private readonly ring = new TimestampRing();
  private best = 0;

  constructor(readonly windowMs: number) {}

  record(now: number): void {
    this.ring.dropUpTo(now - this.windowMs);
    this.ring.push(now);
    if (this.ring.size > this.best) this.best = this.ring.size;
  }

  get max(): number {
    return this.best;
  }

  reset(): void {
    this.ring.clear();
    this.best = 0;
  }
}
