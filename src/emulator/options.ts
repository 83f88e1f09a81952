/** Emulator options with their defaults; the CLI validates flags with schemas/emulator.ts first. */

import type { EmulatorBucket as BucketName } from '../../schemas/emulator.js';
import { DEFAULT_FAULTS, type FaultConfig } from './faults.js';
import type { WindowKind } from './rate-limit.js';

/** Braze rate-limit buckets (shared/braze-api.md §3): one list, the flags schema's. */
export { EMULATOR_BUCKETS as BUCKETS, type EmulatorBucket as BucketName } from '../../schemas/emulator.js';

export interface RateLimitSpec {
  limit: number;
  windowMs: number;
}

/** `null` switches a bucket's limiter off. */
export type RateLimits = Record<BucketName, RateLimitSpec | null>;

export const DEFAULT_RATE_LIMITS: RateLimits = {
  track: { limit: 3000, windowMs: 3000 },
  /** /users/track/bulk: "a base speed limit of 50 requests per second" for most customers. */
  bulk: { limit: 50, windowMs: 1000 },
  users: { limit: 20_000, windowMs: 60_000 },
  'external-ids': { limit: 1000, windowMs: 60_000 },
  subscription: { limit: 5000, windowMs: 60_000 },
  'export-ids': { limit: 250, windowMs: 60_000 },
  default: { limit: 250_000, windowMs: 3_600_000 },
};

/** What a 429 carries: the standard X-RateLimit-* trio plus X-Ratelimit-Retry-After, only the latter (the MAU pages), or nothing. */
export type Headers429 = 'standard' | 'retry-after' | 'none';

export interface EmulatorOptions {
  host: string;
  /** 0 picks a free port. */
  port: number;
  /** A key with every permission (users.track and users.track.bulk among them). */
  apiKey: string;
  /** More keys, each with the endpoint permissions it holds ("users.track", "users.track.bulk", ...): others get 403. */
  keys: Record<string, readonly string[]>;
  /** Take the legacy `api_key` from the JSON body or the query when no Authorization header is sent. */
  legacyApiKey: boolean;
  headers429: Headers429;
  rateLimits: RateLimits;
  window: WindowKind;
  /** 'epoch': X-RateLimit-Reset is UTC epoch seconds; 'delta': seconds until reset (the MAU page's reading). */
  resetHeader: 'epoch' | 'delta';
  maxObjects: number;
  legacyPerArray: boolean;
  /** Larger bodies get 413 (every endpoint but /users/track/bulk). */
  maxBodyBytes: number;
  /** /users/track/bulk: objects per request across all three arrays (legacyPerArray does not apply). */
  bulkMaxObjects: number;
  /** /users/track/bulk: objects for one user profile (one identifier) per request. */
  bulkMaxObjectsPerUser: number;
  /** /users/track/bulk: larger bodies get 400, not 413. */
  bulkMaxBodyBytes: number;
  store: 'memory' | 'none';
  seed: number;
  faults: FaultConfig;
  /** Clock in epoch ms; tests inject one to make windows deterministic. */
  now: () => number;
}

export interface EmulatorOptionsInput extends Partial<Omit<EmulatorOptions, 'rateLimits' | 'faults'>> {
  rateLimits?: Partial<RateLimits>;
  faults?: Partial<FaultConfig>;
}

export const DEFAULT_API_KEY = 'local-dev-key';
export const DEFAULT_PORT = 4010;
export const MAX_BODY_BYTES = 4 * 1024 * 1024;
export const BULK_MAX_OBJECTS = 1000;
export const BULK_MAX_OBJECTS_PER_USER = 100;
export const BULK_MAX_BODY_BYTES = 2 * 1024 * 1024;

export function resolveOptions(input: EmulatorOptionsInput = {}): EmulatorOptions {
  const opts: EmulatorOptions = {
    host: input.host ?? '127.0.0.1',
    port: input.port ?? DEFAULT_PORT,
    apiKey: input.apiKey ?? DEFAULT_API_KEY,
    keys: { ...input.keys },
    legacyApiKey: input.legacyApiKey ?? true,
    headers429: input.headers429 ?? 'standard',
    rateLimits: { ...DEFAULT_RATE_LIMITS, ...input.rateLimits },
    window: input.window ?? 'sliding',
    resetHeader: input.resetHeader ?? 'epoch',
    maxObjects: input.maxObjects ?? 75,
    legacyPerArray: input.legacyPerArray ?? false,
    maxBodyBytes: input.maxBodyBytes ?? MAX_BODY_BYTES,
    bulkMaxObjects: input.bulkMaxObjects ?? BULK_MAX_OBJECTS,
    bulkMaxObjectsPerUser: input.bulkMaxObjectsPerUser ?? BULK_MAX_OBJECTS_PER_USER,
    bulkMaxBodyBytes: input.bulkMaxBodyBytes ?? BULK_MAX_BODY_BYTES,
    store: input.store ?? 'memory',
    seed: input.seed ?? 1,
    faults: { ...DEFAULT_FAULTS, ...input.faults },
    now: input.now ?? Date.now,
  };
  for (const [bucket, spec] of Object.entries(opts.rateLimits)) {
    if (spec && !(spec.limit >= 1 && spec.windowMs >= 1)) {
      throw new RangeError(`rate limit for ${bucket} needs limit >= 1 and windowMs >= 1`);
    }
  }
  for (const key of [opts.apiKey, ...Object.keys(opts.keys)]) {
    if (!/^\S+$/.test(key)) throw new RangeError('API keys must be non-empty and contain no whitespace');
  }
  return opts;
}
