import { z } from 'zod';

/** The record as the user gave it, so it can be exported in its own shape, fixed and replayed. */
export const sourceRecordSchema = z.discriminatedUnion('format', [
  z.object({ format: z.literal('csv'), values: z.record(z.string(), z.string()) }),
  z.object({
    format: z.literal('json'),
    value: z.unknown(),
    /**
     * The JSONL line as written, when the row was rejected before sending: JSON.parse loses what a
     * reader cannot represent (1e400, 2^64, a repeated key), and an export must give back the line.
     */
    text: z.string().optional(),
  }),
]);
export type SourceRecord = z.output<typeof sourceRecordSchema>;

export const deadLetterSchema = z.object({
  runId: z.string(),
  source: z.string(),
  /** 1-based line where the record starts (CSV header is line 1); merged objects list every line. */
  line: z.number().int(),
  lines: z.array(z.number().int()).optional(),
  /** rejected: failed our validation; braze: refused by Braze; exhausted: retries ran out; halted: run stopped. */
  stage: z.enum(['rejected', 'braze', 'exhausted']),
  code: z.string(),
  message: z.string(),
  field: z.string().optional(),
  status: z.number().int().optional(),
  attempts: z.number().int().optional(),
  /**
   * An attempt at this object's chunk got no answer (a reset, a timeout, a crash): Braze may have it
   * already. Its attributes can be sent again safely; its events and purchases may be recorded twice.
   */
  maybeDelivered: z.boolean().optional(),
  record: sourceRecordSchema.optional(),
  at: z.number(),
});
export type DeadLetter = z.output<typeof deadLetterSchema>;
