/** Everything one emulator instance holds, and the operations shared by the HTTP edge and startEmulator. */
import { ROUTES } from './endpoints.js';
import { FaultInjector, mulberry32 } from './faults.js';
import { BUCKETS, type BucketName, DEFAULT_RATE_LIMITS, type EmulatorOptions } from './options.js';
import { createLimiter, type RateLimiter } from './rate-limit.js';
import { EmulatorStats, type StatsSnapshot } from './stats.js';
import {
  type Profile,
  ProfileStore,
  type StoredEvent,
  type StoredPurchase,
  type UserAlias,
} from './store.js';
import type { TrackContext } from './track.js';

export interface EmulatorState {
  opts: EmulatorOptions;
  store: ProfileStore | null;
  stats: EmulatorStats;
  faults: FaultInjector;
  limiters: Record<BucketName, RateLimiter | null>;
  /** /users/track's limits and counters. */
  track: TrackContext;
  /** /users/track/bulk's: the same store and totals. */
  bulk: TrackContext;
  /** Responses waiting on injected latency; cleared by close() so nothing fires after it. */
  timers: Set<NodeJS.Timeout>;
}

export interface UserView {
  external_id: string | null;
  braze_id: string;
  user_aliases: UserAlias[];
  attributes: Record<string, unknown>;
  events: StoredEvent[];
  purchases: StoredPurchase[];
}

export interface EmulatorStatsView extends StatsSnapshot {
  users: number;
  store: EmulatorOptions['store'];
}

function buildLimiters(opts: EmulatorOptions): Record<BucketName, RateLimiter | null> {
  const out = {} as Record<BucketName, RateLimiter | null>;
  for (const bucket of BUCKETS) {
    const spec = opts.rateLimits[bucket];
    out[bucket] = spec ? createLimiter(opts.window, spec.limit, spec.windowMs) : null;
  }
  return out;
}

/**
 * Each route's path with the window of its busiest-window stats: its bucket's rate-limit window (the
 * default one when the limiter is off), so they compare with the limit as it is.
 */
function endpointWindows(opts: EmulatorOptions): Array<[string, number]> {
  return [...ROUTES].map(([path, route]) => {
    const spec = opts.rateLimits[route.bucket] ?? DEFAULT_RATE_LIMITS[route.bucket];
    return [path, spec?.windowMs ?? 1000];
  });
}

export function createState(opts: EmulatorOptions): EmulatorState {
  const store = opts.store === 'memory' ? new ProfileStore(opts.now) : null;
  const stats = new EmulatorStats(endpointWindows(opts));
  const faults = new FaultInjector(opts.faults, opts.seed);
  const timers = new Set<NodeJS.Timeout>();
  // Its own dice, so turning asynchronous processing on does not change the fault dice's sequence.
  const delay = mulberry32(opts.seed + 1);
  const context = (path: string, bucket: BucketName, limits: TrackContext['limits']): TrackContext => {
    const ctx: TrackContext = { limits, store, stats, counters: stats.endpoint(path) };
    Object.defineProperty(ctx, 'defer', {
      enumerable: true,
      get: () => {
        const ms = faults.reorderMs;
        if (ms <= 0 || !faults.applies(bucket)) return undefined;
        return (apply: () => void) => {
          const timer = setTimeout(() => {
            timers.delete(timer);
            apply();
          }, delay() * ms);
          timers.add(timer);
        };
      },
    });
    return ctx;
  };
  const track = context('/users/track', 'track', {
    maxObjects: opts.maxObjects,
    legacyPerArray: opts.legacyPerArray,
  });
  const bulk = context('/users/track/bulk', 'bulk', {
    maxObjects: opts.bulkMaxObjects,
    legacyPerArray: false,
    maxObjectsPerUser: opts.bulkMaxObjectsPerUser,
  });
  return { opts, store, stats, faults, limiters: buildLimiters(opts), track, bulk, timers };
}

/** Clears profiles, counters and rate windows, and restarts the fault dice; fault settings are kept. */
export function resetState(state: EmulatorState): void {
  state.store?.clear();
  state.stats.reset();
  for (const bucket of BUCKETS) state.limiters[bucket]?.reset();
  state.faults.restart();
}

export function statsOf(state: EmulatorState): EmulatorStatsView {
  const snapshot = state.stats.snapshot();
  // The store drops nested updates that would grow a stored value past 100 KB; writes.ts the rest.
  const nestedDropped = snapshot.nestedDropped + (state.store?.overCap ?? 0);
  return { ...snapshot, nestedDropped, users: state.store?.size ?? 0, store: state.opts.store };
}

export function viewProfile(p: Profile): UserView {
  return {
    external_id: p.external_id ?? null,
    braze_id: p.braze_id,
    user_aliases: p.user_aliases,
    attributes: p.attributes,
    events: p.events,
    purchases: p.purchases,
  };
}
