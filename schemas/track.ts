import * as zm from 'zod/mini';

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

/**
 * A job's data as the producer hands it to BullMQ: its lines may be packed (src/chunk/packed-lines.ts),
 * and JSON.stringify, as BullMQ stores a job, writes it as the TrackJobData it stands for.
 */
export type OutgoingJobData = Omit<TrackJobData, 'lines'> & { lines: ChunkLines | { toJSON(): ChunkLines } };

/** A body still to send after the current one, for the same chunk (the second half of a split). */
export interface PendingBody {
  body: string;
  objects: number;
  lines: ChunkLines;
}

/**
 * One queued request: a chunk, or what follows it after a split or a partial rejection. The parts of
 * one chunk form a chain: only one is ever queued or in flight, so a user's objects in the chunk never
 * travel in two requests at once, and the chunk is finished when a part settles with nothing after it.
 */
export interface TrackJobData {
  /**
   * 2: the body is kept beside the job, in the run's `bodies` hash under the job id, and reaches the
   * sender as bytes (read with the check before the request); 1: in `body` (jobs of older versions).
   */
  v: 1 | 2;
  runId: string;
  /** Index of the chunk in the run; continuations keep their parent's. */
  chunk: number;
  /** '' for an original chunk; '.1', '.2' ... for the parts that follow it, in order. */
  part: string;
  /** The chunk's lane and its place in the lane (see src/chunk). */
  lane: number;
  seq: number;
  /** Sent only once the lane has finished every chunk with seq <= needs. */
  needs: number;
  /** How many parts of the chunk came before this one (0 for the chunk itself). */
  step?: number;
  /** Bodies of the chunk still to send after this one, in order. */
  rest?: PendingBody[];
  /** The request body (v1 only; v2 keeps it beside the job). */
  body?: string;
  /** Size of the body in bytes. */
  bytes?: number;
  /** Objects in the body, so a plain success is counted without parsing it. */
  objects: number;
  lines: ChunkLines;
}

/**
 * Several chunks of a run in one queued job (v3): BullMQ's own work per job (add, move to active,
 * finish: three Lua calls and their round trips) is paid once for all of them. Each chunk is still
 * checked, sent, retried and settled on its own, under its own id (`trackJobId`): the ledger, the
 * in-flight marks and the kept bodies are per chunk. The group's id is `groupJobId`; its chunks are
 * the run's chunks numbered `index / size` (rounded down), so a resumed run rebuilds the same groups.
 */
export interface TrackGroupData {
  v: 3;
  runId: string;
  /** At most the run's jobGroup (its record), fewer in its last group. */
  chunks: TrackJobData[];
}

/** What a run's queue holds: single chunks (and the parts that follow a split), or groups. */
export type TrackQueueData = TrackJobData | TrackGroupData;

export function isGroup(data: TrackQueueData): data is TrackGroupData {
  return data.v === 3;
}

/** The chunks a queued job carries: a group's, or the one chunk of a single job. */
export function chunksOf(data: TrackQueueData): TrackJobData[] {
  return isGroup(data) ? data.chunks : [data];
}

/** A chunk as the classifier sees it: the body is parsed only if the answer needs it. */
export interface SentChunk {
  objects: number;
  lines: ChunkLines;
  body: () => TrackBody;
}

/**
 * A lazily parsed view of a request body: the JSON text as it was sent (bytes, or a string for
 * bodies made in this process), parsed only when Braze's answer names objects or a chunk is cut.
 */
export function sentChunk(
  body: Uint8Array | string,
  data: Pick<TrackJobData, 'objects' | 'lines'>,
): SentChunk {
  let parsed: TrackBody | undefined;
  return {
    objects: data.objects,
    lines: data.lines,
    body: () => {
      parsed ??= JSON.parse(typeof body === 'string' ? body : new TextDecoder().decode(body)) as TrackBody;
      return parsed;
    },
  };
}

/**
 * Braze's answer body, as far as we rely on it. Anything else is kept as text. zod/mini: the sender
 * thread parses answers with this schema alone, and the full zod would add 0.75 MB of source and
 * ~3 MB of heap to that thread (the producer's schemas use the full zod; both share zod's core).
 */
export const trackResponseSchema = zm.looseObject({
  message: zm.optional(zm.string()),
  errors: zm.optional(
    zm.array(
      zm.looseObject({
        type: zm.optional(zm.string()),
        input_array: zm.optional(zm.string()),
        index: zm.optional(zm.int().check(zm.nonnegative())),
      }),
    ),
  ),
});

export type TrackResponse = zm.output<typeof trackResponseSchema>;
