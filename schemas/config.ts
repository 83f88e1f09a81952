import { z } from 'zod';

/** "3000/3s" -> { max: 3000, windowMs: 3000 }. Units: ms, s, m, h. */
export interface RateLimit {
  max: number;
  windowMs: number;
}

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export function parseRateLimit(text: string): RateLimit | undefined {
  const m = /^\s*(\d+)\s*\/\s*(\d*)\s*(ms|s|m|h)\s*$/.exec(text);
  if (!m) return undefined;
  const max = Number(m[1]);
  const windowMs = Number(m[2] === '' ? 1 : m[2]) * (UNIT_MS[m[3] ?? 's'] ?? 1000);
  if (!Number.isSafeInteger(max) || max < 1 || windowMs < 1) return undefined;
  return { max, windowMs };
}

/**
 * "60s", "5m", "500ms", "1.5h" -> milliseconds (the units of rate limits). A bare number is refused:
 * seconds or milliseconds would be a guess.
 */
export function parseDuration(text: string): number | undefined {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(text);
  if (!m) return undefined;
  const ms = Math.round(Number(m[1]) * (UNIT_MS[m[2] ?? 's'] ?? 1000));
  return Number.isSafeInteger(ms) ? ms : undefined;
}

/** A duration flag within [minMs, maxMs]: "--settle 5s". */
export const durationSchema = (minMs: number, maxMs: number) =>
  z.string().transform((text, ctx) => {
    const ms = parseDuration(text);
    if (ms === undefined || ms < minMs || ms > maxMs) {
      ctx.addIssue({
        code: 'custom',
        message: `expected a duration from ${minMs} ms to ${maxMs / 3_600_000} h such as 60s, 5m or 500ms, got "${text}"`,
      });
      return z.NEVER;
    }
    return ms;
  });

/**
 * One limit ("3000/3s") or several a contract has at once ("3000/3s,250000/1h": a burst limit and an
 * hourly one, as on MAU-based contracts), shortest window first.
 */
export const rateLimitsSchema = z.string().transform((text, ctx) => {
  const parts = text.split(',').map((p) => parseRateLimit(p));
  if (parts.length === 0 || parts.some((p) => p === undefined)) {
    ctx.addIssue({
      code: 'custom',
      message: `expected <count>/<duration>[,<count>/<duration>...] such as 3000/3s or 3000/3s,250000/1h, got "${text}"`,
    });
    return z.NEVER;
  }
  return (parts as RateLimit[]).sort((a, b) => a.windowMs - b.windowMs);
});

export const rateLimitSchema = z.string().transform((text, ctx) => {
  const parsed = parseRateLimit(text);
  if (!parsed) {
    ctx.addIssue({
      code: 'custom',
      message: `expected <count>/<duration> such as 3000/3s or 20000/1m, got "${text}"`,
    });
    return z.NEVER;
  }
  return parsed;
});

/** A whole number given as text (an env var or a flag), within [min, max]. */
export const wholeNumber = (min: number, max: number) =>
  z
    .string()
    .trim()
    .regex(/^-?\d+$/, { message: 'expected a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(min).max(max));

const boolString = z
  .string()
  .trim()
  .toLowerCase()
  .pipe(z.enum(['1', '0', 'true', 'false', 'yes', 'no', 'on', 'off', '']))
  .transform((v) => ['1', 'true', 'yes', 'on'].includes(v));

const redisUrl = z
  .string()
  .trim()
  .refine((v) => /^rediss?:\/\/./.test(v), { message: 'expected a redis:// or rediss:// URL' });

/**
 * Every environment variable the program reads. Keys are the variable names so that each
 * problem can be reported as `NAME: what is wrong`.
 */
export const envSchema = z.object({
  BRAZE_REST_ENDPOINT: z.string().trim().optional(),
  BRAZE_API_KEY: z.string().optional(),
  /** Same as --allow-endpoint: a non-Braze endpoint the operator vouches for (a proxy, the emulator in compose). */
  BRAZE_ALLOW_ENDPOINT: z.string().trim().url({ message: 'expected a URL' }).optional(),
  BRAZE_API_KEY_FILE: z.string().optional(),
  REDIS_URL: redisUrl.optional(),
  BRAZE_TRACK_RATE_LIMIT: rateLimitsSchema.prefault('3000/3s'),
  /** Where `backfill` sends unless --endpoint says: track (/users/track) or bulk (/users/track/bulk). */
  BRAZE_BACKFILL_ENDPOINT: z.enum(['track', 'bulk'], { message: 'expected track or bulk' }).default('track'),
  /** /users/track/bulk's own limit (Braze: about 50 requests/s for most customers). */
  BRAZE_BULK_RATE_LIMIT: rateLimitsSchema.prefault('50/1s'),
  /**
   * The rate budget a destination's sending shares: by default its own (endpoint + key). Runs to
   * different workspaces whose limit Braze counts together (one company's burst limit) name the
   * same group.
   */
  BRAZE_RATE_GROUP: z
    .string()
    .regex(/^[A-Za-z0-9_.-]{1,64}$/, { message: 'expected 1-64 letters, digits, _ . or -' })
    .optional(),
  /**
   * How much jitter (plus our own lateness) the send gate absorbs until Braze's answers show less, and
   * the most it learns; 429s widen it (see src/send/limiter.ts).
   */
  BRAZE_RATE_SLACK_MS: wholeNumber(0, 2000).default(300),
  BRAZE_MAX_OBJECTS: wholeNumber(1, 75).default(75),
  BRAZE_LEGACY_PER_ARRAY: boolString.default(false),
  BRAZE_REQUEST_TIMEOUT_MS: wholeNumber(100, 600_000).default(30_000),
  BRAZE_RETRY_ATTEMPTS: wholeNumber(1, 50).default(8),
  BRAZE_RETRY_BASE_MS: wholeNumber(1, 600_000).default(1000),
  /** How long a worker's claim on a chunk lasts without renewal: a dead worker's chunks return after this. */
  BRAZE_WORKER_LOCK_MS: wholeNumber(1000, 600_000).default(30_000),
  BRAZE_IMPORT_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,64}$/, { message: 'expected 1-64 letters, digits, _ or -' })
    .default('braze-import'),
  /** How long a first SIGINT/SIGTERM may drain (requests in flight) before the stop is forced. */
  BRAZE_IMPORT_SHUTDOWN_MS: wholeNumber(100, 600_000).default(30_000),
  /**
   * Lanes a run's users are spread over: a user's rows are sent one request at a time, in file order,
   * in its lane; lanes go side by side. Part of what a run is (a resume needs the same).
   */
  BRAZE_IMPORT_LANES: wholeNumber(1, 1024).default(16),
  BRAZE_IMPORT_MAX_BACKLOG_MB: wholeNumber(1, 65_536).default(64),
  BRAZE_IMPORT_RETENTION_DAYS: wholeNumber(1, 3650).default(14),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).optional(),
  LOG_FORMAT: z.enum(['auto', 'json', 'pretty']).default('auto'),
  /** Same as --redact-ids: user identifiers in logs are replaced by a short hash. */
  BRAZE_IMPORT_REDACT_IDS: boolString.default(false),
});

export type Env = z.output<typeof envSchema>;
