import { z } from 'zod';
import { durationSchema, wholeNumber } from './config.js';
import { SCHEDULE_NAME } from './schedule.js';

/** Flags of `run` (and the input flags `demo` and `dlq replay` share), validated all at once. */
/** Requests in flight: by default sized to the latency Braze answers with (src/send/concurrency.ts). */
export const concurrencyFlag = wholeNumber(1, 1000).optional();

export const runFlagsSchema = z.object({
  format: z.enum(['csv', 'jsonl'], { message: '--format must be csv or jsonl' }).optional(),
  delimiter: z.string().length(1, { message: '--delimiter must be a single character' }).optional(),
  mapping: z.string().optional(),
  idColumn: z.string().min(1).optional(),
  runId: z.string().optional(),
  resume: z.string().min(1).optional(),
  newKey: z.boolean().default(false),
  force: z.boolean().default(false),
  dryRun: z.boolean().default(false),
  enqueueOnly: z.boolean().default(false),
  concurrency: concurrencyFlag,
  json: z.boolean().default(false),
  apiKeyFile: z.string().optional(),
  allowEndpoint: z.string().optional(),
  redactIds: z.boolean().optional(),
});
export type RunFlags = z.output<typeof runFlagsSchema>;

/** Flag combinations that make no sense, one line each. */
export function runFlagConflicts(f: RunFlags): string[] {
  const out: string[] = [];
  if (f.resume && f.runId)
    out.push('--resume and --run-id: the resumed run keeps its id; pass only --resume');
  if (f.resume && f.force) out.push('--resume and --force: --force starts a new run; pass one of them');
  if (f.newKey && !f.resume)
    out.push('--new-key goes with --resume: it moves a stopped run to a rotated key');
  if (f.dryRun && (f.resume || f.enqueueOnly))
    out.push('--dry-run sends nothing; it takes neither --resume nor --enqueue-only');
  return out;
}

export const workerFlagsSchema = z.object({
  concurrency: concurrencyFlag,
  apiKeyFile: z.string().optional(),
  allowEndpoint: z.string().optional(),
  redactIds: z.boolean().optional(),
});
export type WorkerFlags = z.output<typeof workerFlagsSchema>;

/** zod issues -> one line each, naming the flag. */
export function flagProblems(error: z.ZodError): string[] {
  return error.issues.map((i) => {
    const flag = `--${String(i.path[0] ?? '').replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
    return i.message.startsWith('--') ? i.message : `${flag}: ${i.message}`;
  });
}

/** A sync's name: one change record per name and workspace; a schedule's rule (it names Redis keys too). */
export const SYNC_NAME = SCHEDULE_NAME;

/** A share given as a percentage, "5" or "5%", as 0..1. */
const percent = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?%?$/, { message: 'expected a percentage such as 5 or 5%' })
  .transform((s) => Number(s.replace('%', '')) / 100)
  .pipe(z.number().min(0, { message: 'expected 0 to 100%' }).max(1, { message: 'expected 0 to 100%' }));

/** Flags of `sync`: the input flags of `run`, and how the change record is used. */
export const syncFlagsSchema = z.object({
  format: runFlagsSchema.shape.format,
  delimiter: runFlagsSchema.shape.delimiter,
  mapping: z.string().optional(),
  idColumn: z.string().min(1).optional(),
  runId: z.string().optional(),
  name: z
    .string()
    .regex(SYNC_NAME, { message: '1-64 letters, digits, _ . - (starting with a letter or digit)' })
    .optional(),
  readyMarker: z.string().optional(),
  settle: durationSchema(0, 86_400_000).optional(),
  full: z.boolean().default(false),
  unsetMissing: z.boolean().default(false),
  maxUnset: percent.default(0.05),
  force: z.boolean().default(false),
  dryRun: z.boolean().default(false),
  concurrency: concurrencyFlag,
  json: z.boolean().default(false),
  apiKeyFile: z.string().optional(),
  allowEndpoint: z.string().optional(),
  redactIds: z.boolean().optional(),
});
export type SyncFlags = z.output<typeof syncFlagsSchema>;

/** Flags of `backfill`: those of `run`, its share of the burst limit while a sync sends, its endpoint, its CPU priority. */
export const backfillFlagsSchema = runFlagsSchema.extend({
  share: percent.pipe(z.number().gt(0, { message: 'expected more than 0%' })).default(0.5),
  endpoint: z.enum(['track', 'bulk'], { message: '--endpoint must be track or bulk' }).optional(),
  nice: wholeNumber(0, 19).default(10),
});
export type BackfillFlags = z.output<typeof backfillFlagsSchema>;
