import { z } from 'zod';

/** The three arrays of a /users/track body. Objects are already Braze-shaped (identifier included). */
export type BrazeObject = Record<string, unknown>;
export type TrackArray = 'attributes' | 'events' | 'purchases';
export const TRACK_ARRAYS: readonly TrackArray[] = ['attributes', 'events', 'purchases'];

export interface TrackBody {
  attributes?: BrazeObject[];
  events?: BrazeObject[];
  purchases?: BrazeObject[];
}

/** Source lines per object, parallel to the body's arrays (a merged attributes object has several). */
export interface ChunkLines {
  attributes: number[][];
  events: number[];
  purchases: number[];
}

/** One queued request: a chunk, or the remainder of one after a split or a partial rejection. */
export interface TrackJobData {
  v: 1;
  runId: string;
  /** Index of the chunk in the run; continuations keep their parent's. */
  chunk: number;
  /** '' for an original chunk; '.0', '.1', '.r' ... for halves and remainders. */
  part: string;
  body: TrackBody;
  lines: ChunkLines;
}

/** Braze's answer body, as far as we rely on it. Anything else is kept as text. */
export const trackResponseSchema = z
  .object({
    message: z.string().optional(),
    errors: z
      .array(
        z
          .object({
            type: z.string().optional(),
            input_array: z.string().optional(),
            index: z.number().int().nonnegative().optional(),
          })
          .loose(),
      )
      .optional(),
  })
  .loose();

export type TrackResponse = z.output<typeof trackResponseSchema>;
