import type { RateLimit } from '../../schemas/config.js';

export interface LimiterSettings {
  /** BullMQ Worker `limiter`: at most `max` job starts per fixed window of `duration` ms. */
  max: number;
  duration: number;
}

/**
 * BullMQ's limiter counts job starts in fixed windows that begin at the first start after the
 * previous window expired; a sliding window of length W can therefore hold floor(W/d)+1 of them.
 * Short windows with max chosen so that (floor((W+slack)/d)+1) * max <= limit keep every sliding
 * window under Braze's limit, with `slackMs` absorbing jitter between job start and arrival at Braze.
 */
export function limiterFor(limit: RateLimit, slackMs = 100): LimiterSettings {
  let best: LimiterSettings = { max: 1, duration: limit.windowMs + slackMs + 1 };
  // Try 1..60 windows per Braze window and keep the fastest safe setting (ties: the shorter window).
  for (let k = 1; k <= 60; k++) {
    const duration = Math.max(10, Math.ceil(limit.windowMs / k));
    const windows = Math.floor((limit.windowMs + slackMs) / duration) + 1;
    const max = Math.floor(limit.max / windows);
    if (max >= 1 && max / duration > best.max / best.duration) best = { max, duration };
  }
  return best;
}

/** Worst case number of starts in any sliding window of `windowMs` under these settings. */
export function worstCaseStarts(settings: LimiterSettings, windowMs: number): number {
  return settings.max * (Math.floor(windowMs / settings.duration) + 1);
}
