import { z } from 'zod';
import { durationSchema } from './config.js';

/** A schedule's name: it names a BullMQ job scheduler and Redis keys, so no `:` and no spaces. */
export const SCHEDULE_NAME = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$/;

/** The longest settle period: a day. */
const MAX_SETTLE_MS = 86_400_000;
export const DEFAULT_SETTLE_MS = 60_000;

/** Flags of `schedule set`; cron, time zone and source are checked beyond this in src/sync/. */
export const scheduleSetFlagsSchema = z.object({
  cron: z.string({ message: '--cron is required, e.g. --cron "0 2 * * *"' }).trim().min(1),
  tz: z.string({ message: '--tz is required, e.g. --tz Europe/Berlin (or --tz UTC)' }).trim().min(1),
  source: z
    .string({
      message: "--source is required: the file or glob a firing picks from, e.g. 'exports/users-*.csv.gz'",
    })
    .trim()
    .min(1),
  mapping: z.string().optional(),
  readyMarker: z.string().optional(),
  settle: durationSchema(0, MAX_SETTLE_MS).optional(),
  apiKeyFile: z.string().optional(),
  allowEndpoint: z.string().optional(),
  redactIds: z.boolean().optional(),
});
export type ScheduleSetFlags = z.output<typeof scheduleSetFlagsSchema>;

/** A schedule as stored in Redis (the destination's schedules hash). Never holds a key. */
export const scheduleDefSchema = z.object({
  v: z.literal(1),
  name: z.string().regex(SCHEDULE_NAME),
  cron: z.string(),
  tz: z.string(),
  /** Absolute path or glob, resolved where `schedule set` ran. */
  source: z.string(),
  mapping: z.string().optional(),
  /** As given to --ready-marker (`_SUCCESS`, `FILE.done`, `.done`). */
  readyMarker: z.string().optional(),
  settleMs: z.number().int().min(0),
  /** Other sync flags, passed to the sync as they were given. */
  argv: z.array(z.string()),
  /** The destination id (src/runs/destination.ts) whose workers run it. */
  destId: z.string(),
  updatedAt: z.number(),
});
export type ScheduleDef = z.output<typeof scheduleDefSchema>;

export const fileIdentitySchema = z.object({ path: z.string(), size: z.number(), mtimeMs: z.number() });

/**
 * What a firing came to: skipped (the previous one still going), no new file, not ready, no file
 * matching, or a sync: started, then synced (exit 0 or 3: its file is remembered), not-synced (it
 * ended otherwise: halted, interrupted...) or failed (the launcher threw).
 */
export const firingOutcomes = [
  'skipped',
  'no-new-file',
  'not-ready',
  'no-match',
  'started',
  'synced',
  'not-synced',
  'failed',
] as const;
export type FiringOutcome = (typeof firingOutcomes)[number];

export const firingSchema = z.object({
  /** When the firing was handled. */
  at: z.number(),
  /** The time the cron gave for this firing (ms), when BullMQ says. */
  due: z.number().optional(),
  outcome: z.enum(firingOutcomes),
  /** One line for a person: `no new file`, `not ready: growing`, `skipped: previous run of X still going`. */
  message: z.string(),
  file: fileIdentitySchema.optional(),
  runId: z.string().optional(),
  status: z.string().optional(),
  exitCode: z.number().optional(),
  endedAt: z.number().optional(),
});
export type Firing = z.output<typeof firingSchema>;
