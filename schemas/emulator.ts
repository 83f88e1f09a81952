import { z } from 'zod';
import { parseRateLimit, wholeNumber } from './config.js';

/** Braze rate-limit buckets (shared/braze-api.md §3); src/emulator/options.ts re-exports them as BUCKETS. */
export const EMULATOR_BUCKETS = [
  'track',
  'bulk',
  'users',
  'external-ids',
  'subscription',
  'export-ids',
  'default',
] as const;
export type EmulatorBucket = (typeof EMULATOR_BUCKETS)[number];

/** The buckets whose requests meet faults: 'all', or a list ('bulk' alone aims them at /users/track/bulk). */
const faultBuckets = z.union([z.literal('all'), z.array(z.enum(EMULATOR_BUCKETS))]);

const probability = z.number().min(0, 'must be between 0 and 1').max(1, 'must be between 0 and 1');
const millis = z.number().int().min(0).max(600_000);

/** Body of POST /_emulator/faults and the `faults` option: every field optional, unknown keys rejected. */
export const faultPatchSchema = z
  .strictObject({
    buckets: faultBuckets,
    failRate: probability,
    failStatuses: z.array(z.number().int().min(500).max(599)).min(1),
    resetRate: probability,
    resetMode: z.enum(['before', 'after']),
    latencyMs: millis,
    latencyJitterMs: millis,
    arrivalJitterMs: millis,
    slowRate: probability,
    slowMs: millis,
    burst429Every: z.number().int().min(0),
    burst429Length: z.number().int().min(1).max(1_000_000),
    burst429RetryAfterS: z.number().int().min(1).max(3600),
    queuedRate: probability,
    reorderMs: millis,
    /** The outcomes of the next requests, in order, before the dice decide again (see faults.ts). */
    script: z.array(
      z.union([z.enum(['ok', 'reset-before', 'reset-after', '429']), z.number().int().min(500).max(599)]),
    ),
    seed: z.number().int().min(0).max(0xffffffff),
  })
  .partial();
export type FaultPatch = z.infer<typeof faultPatchSchema>;

const probabilityFlag = z
  .string()
  .trim()
  .regex(/^(\d*\.)?\d+$/, { message: 'expected a probability between 0 and 1' })
  .transform(Number)
  .pipe(probability);

const statusListFlag = z.string().transform((text, ctx) => {
  const codes = text.split(',').map((s) => Number(s.trim()));
  if (codes.length === 0 || codes.some((c) => !Number.isInteger(c) || c < 500 || c > 599)) {
    ctx.addIssue({ code: 'custom', message: `expected a comma-separated list of 5xx codes, got "${text}"` });
    return z.NEVER;
  }
  return codes;
});

/** `--fault-buckets bulk` or `track,bulk`, or `all`. */
const faultBucketsFlag = z.string().transform((text, ctx) => {
  if (text.trim() === 'all') return 'all' as const;
  const names = text.split(',').map((s) => s.trim());
  const unknown = names.filter((n) => !(EMULATOR_BUCKETS as readonly string[]).includes(n));
  if (unknown.length > 0) {
    ctx.addIssue({
      code: 'custom',
      message: `expected all or a comma-separated list of ${EMULATOR_BUCKETS.join(', ')}, got "${text}"`,
    });
    return z.NEVER;
  }
  return names as EmulatorBucket[];
});

type RateLimitsOut = Partial<Record<EmulatorBucket, { limit: number; windowMs: number } | null>>;

/** `track=3000/3s`, `bulk=50/1s`, `users=20000/1m`, `track=off`; several per flag with commas, or repeat the flag. */
const rateLimitFlag = z.array(z.string()).transform((entries, ctx) => {
  const out: RateLimitsOut = {};
  for (const entry of entries.flatMap((e) => e.split(',')).map((e) => e.trim())) {
    const eq = entry.indexOf('=');
    const bucket = entry.slice(0, eq).trim() as EmulatorBucket;
    const value = entry.slice(eq + 1).trim();
    if (eq < 1 || !EMULATOR_BUCKETS.includes(bucket)) {
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}": expected BUCKET=COUNT/DURATION or BUCKET=off, BUCKET one of ${EMULATOR_BUCKETS.join(', ')}`,
      });
      continue;
    }
    if (value === 'off' || value === 'none') {
      out[bucket] = null;
      continue;
    }
    const parsed = parseRateLimit(value);
    if (!parsed)
      ctx.addIssue({ code: 'custom', message: `"${entry}": expected a limit such as 3000/3s or 20000/1m` });
    else out[bucket] = { limit: parsed.max, windowMs: parsed.windowMs };
  }
  return out;
});

/** `--key KEY=users.track,users.delete` (repeatable): another API key and the permissions it holds. */
const keyFlag = z.array(z.string()).transform((entries, ctx) => {
  const out: Record<string, string[]> = {};
  for (const entry of entries) {
    const m = /^([^\s=]+)=([\w.,-]*)$/.exec(entry.trim());
    if (!m) {
      ctx.addIssue({
        code: 'custom',
        message: `"${entry}": expected KEY=permission,permission (e.g. k1=users.track)`,
      });
      continue;
    }
    out[m[1]!] = m[2]!.split(',').filter((p) => p !== '');
  }
  return out;
});

/** Raw commander flags (strings) of `braze-import emulator`; every problem is reported at once. */
export const emulatorFlagsSchema = z
  .object({
    host: z.string().trim().min(1, 'must not be empty').optional(),
    port: wholeNumber(0, 65_535).optional(),
    apiKey: z.string().regex(/^\S+$/, { message: 'must be non-empty and contain no whitespace' }).optional(),
    key: keyFlag.optional(),
    legacyApiKey: z.boolean().optional(),
    headers429: z.enum(['standard', 'retry-after', 'none']).optional(),
    rateLimit: rateLimitFlag.optional(),
    window: z.enum(['sliding', 'fixed']).optional(),
    resetHeader: z.enum(['epoch', 'delta']).optional(),
    maxObjects: wholeNumber(1, 100_000).optional(),
    legacyPerArray: z.boolean().optional(),
    maxBodyBytes: wholeNumber(1, 1024 * 1024 * 1024).optional(),
    bulkMaxObjects: wholeNumber(1, 100_000).optional(),
    bulkMaxObjectsPerUser: wholeNumber(1, 100_000).optional(),
    bulkMaxBodyBytes: wholeNumber(1, 1024 * 1024 * 1024).optional(),
    store: z.enum(['memory', 'none']).optional(),
    seed: wholeNumber(0, 0xffffffff).optional(),
    faultBuckets: faultBucketsFlag.optional(),
    failRate: probabilityFlag.optional(),
    failStatuses: statusListFlag.optional(),
    resetRate: probabilityFlag.optional(),
    resetMode: z.enum(['before', 'after']).optional(),
    latencyMs: wholeNumber(0, 600_000).optional(),
    latencyJitterMs: wholeNumber(0, 600_000).optional(),
    arrivalJitterMs: wholeNumber(0, 600_000).optional(),
    slowRate: probabilityFlag.optional(),
    slowMs: wholeNumber(0, 600_000).optional(),
    burst429Every: wholeNumber(0, 1_000_000_000).optional(),
    burst429Length: wholeNumber(1, 1_000_000).optional(),
    queuedRate: probabilityFlag.optional(),
    reorderMs: wholeNumber(0, 600_000).optional(),
  })
  .transform((f) => {
    const faults = {
      buckets: f.faultBuckets,
      failRate: f.failRate,
      failStatuses: f.failStatuses,
      resetRate: f.resetRate,
      resetMode: f.resetMode,
      latencyMs: f.latencyMs,
      latencyJitterMs: f.latencyJitterMs,
      arrivalJitterMs: f.arrivalJitterMs,
      slowRate: f.slowRate,
      slowMs: f.slowMs,
      burst429Every: f.burst429Every,
      burst429Length: f.burst429Length,
      queuedRate: f.queuedRate,
      reorderMs: f.reorderMs,
    };
    return dropUndefined({
      host: f.host,
      port: f.port,
      apiKey: f.apiKey,
      keys: f.key,
      legacyApiKey: f.legacyApiKey,
      headers429: f.headers429,
      rateLimits: f.rateLimit,
      window: f.window,
      resetHeader: f.resetHeader,
      maxObjects: f.maxObjects,
      legacyPerArray: f.legacyPerArray,
      maxBodyBytes: f.maxBodyBytes,
      bulkMaxObjects: f.bulkMaxObjects,
      bulkMaxObjectsPerUser: f.bulkMaxObjectsPerUser,
      bulkMaxBodyBytes: f.bulkMaxBodyBytes,
      store: f.store,
      seed: f.seed,
      faults: dropUndefined(faults),
    });
  });
export type EmulatorFlags = z.infer<typeof emulatorFlagsSchema>;

/** Options objects must not carry `undefined` over the defaults they are spread onto. */
function dropUndefined<T extends object>(o: T): { [K in keyof T]?: Exclude<T[K], undefined> } {
  return Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as {
    [K in keyof T]?: Exclude<T[K], undefined>;
  };
}
