import type { DeadLetter } from '../../schemas/dead-letter.js';
import { type BrazeObject, type PendingBody, sentChunk, type TrackJobData } from '../../schemas/track.js';
import { RetryableError } from '../errors.js';
import type { Counts } from '../runs/store.js';
import {
  classifyResponse,
  countObjects,
  type FailedObject,
  located,
  type RateInfo,
  type Remainder,
  rateInfo,
  splitInHalves,
} from './classify.js';
import type { TrackClient } from './http.js';

/** A chunk's outcome, recorded once: counts, dead letters, and the jobs that carry on its remainder. */
export interface Settlement {
  kind: 'settle';
  /** Braze's own count of its window, when its answer said (see gate.remaining). */
  rate?: RateInfo;
  /** The last attempt had no answer from Braze (none came, or a gateway's 504): it may count it later. */
  unanswered?: boolean;
  deltas: Partial<Counts>;
  deadLetters: DeadLetter[];
  continuations: TrackJobData[];
}

/** What the queue adapter must do with a job after one attempt. */
export type ChunkResult =
  | Settlement
  | { kind: 'rate-limited'; waitMs: number }
  /** maybeDelivered: no answer (reset, timeout) or a gateway timeout, so Braze may have the data. */
  | { kind: 'retry'; message: string; maybeDelivered: boolean }
  | { kind: 'halt'; status: number; message: string };

export interface AttemptInfo {
  /** Attempts already finished before this one (BullMQ attemptsMade). */
  attemptsMade: number;
  maxAttempts: number;
  /** An earlier attempt got no answer: Braze may already have the chunk. */
  maybeDelivered?: boolean;
}

/**
 * One attempt at one chunk: send it, classify the answer, and say what happens next. Knows nothing
 * of BullMQ or Redis (capabilities are passed in), so it is tested against the emulator alone.
 */
export function createChunkProcessor(deps: { client: TrackClient; now?: () => number }) {
  const now = deps.now ?? Date.now;
  /** `body`: the request body as it is sent (bytes kept beside the job, or text). */
  return async function processChunk(
    data: TrackJobData,
    body: Uint8Array | string,
    attempt: AttemptInfo,
    signal?: AbortSignal,
  ) {
    const isLast = attempt.attemptsMade + 1 >= attempt.maxAttempts;
    const sent = sentChunk(body, data);
    let outcome: ReturnType<typeof classifyResponse>;
    let rate: RateInfo | undefined;
    try {
      const answer = await deps.client.track(body, signal);
      outcome = classifyResponse(answer.status, answer.headers, answer.text, sent, now());
      rate = rateInfo(answer.headers, now());
    } catch (err) {
      if (!(err instanceof RetryableError)) throw err;
      outcome = { kind: 'retry', status: 0, message: err.message };
    }
    const attempts = attempt.attemptsMade + 1;
    const settled = (s: Settlement): Settlement => (rate ? { ...s, rate } : s);
    switch (outcome.kind) {
      case 'accepted':
        return settled(
          settle(data, outcome.accepted, outcome.failed, after(data, []), 'braze', attempts, now()),
        );
      case 'rejected':
        return settled(settle(data, 0, outcome.failed, after(data, []), 'braze', attempts, now()));
      case 'partial': {
        const next = after(data, [pending(outcome.remainder)]);
        return settled(settle(data, 0, outcome.failed, next, 'braze', attempts, now()));
      }
      case 'split': {
        // The halves go one after the other, never both at once: a user in both would otherwise
        // have two requests in flight.
        const [a, b] = splitInHalves(sent.body(), data.lines);
        return settle(data, 0, [], after(data, [pending(a), pending(b)]), 'braze', attempts, now());
      }
      case 'rate-limited':
        return { kind: 'rate-limited', waitMs: outcome.waitMs } satisfies ChunkResult;
      case 'fatal':
        return { kind: 'halt', status: outcome.status, message: outcome.message } satisfies ChunkResult;
      case 'retry': {
        const maybeDelivered = outcome.status === 0 || outcome.status === 504;
        if (!isLast) return { kind: 'retry', message: outcome.message, maybeDelivered } satisfies ChunkResult;
        const failed = everyObject(
          data,
          body,
          outcome.status,
          `gave up after ${attempts} attempts: ${outcome.message}`,
        );
        // An attempt without an answer may have been applied: the letter says so, and a replay of its
        // events and purchases needs the user's explicit choice.
        const unsure = attempt.maybeDelivered === true || maybeDelivered;
        const s = settle(data, 0, failed, after(data, []), 'exhausted', attempts, now(), unsure);
        return maybeDelivered ? { ...s, unanswered: true } : s;
      }
    }
  };
}

export type ChunkProcessor = ReturnType<typeof createChunkProcessor>;

/** Every object of a chunk as given up: for a job that failed in a way the processor did not decide. */
export function giveUp(
  data: TrackJobData,
  body: Uint8Array | string,
  message: string,
  attempts: number,
  maybeDelivered: boolean,
  at = Date.now(),
): Settlement {
  return settle(
    data,
    0,
    everyObject(data, body, 0, message),
    after(data, []),
    'exhausted',
    attempts,
    at,
    maybeDelivered,
  );
}

function pending(r: Remainder): PendingBody {
  return { body: JSON.stringify(r.body), objects: countObjects(r.body), lines: r.lines };
}

/**
 * The part that follows this one: `first` (what this answer left to send), then whatever the chunk
 * still had pending. At most one: the parts of a chunk go one at a time, in order.
 */
function after(data: TrackJobData, first: PendingBody[]): TrackJobData[] {
  const [head, ...tail] = [...first, ...(data.rest ?? [])];
  if (!head) return [];
  const step = (data.step ?? 0) + 1;
  return [
    {
      v: 2,
      runId: data.runId,
      chunk: data.chunk,
      part: `.${step}`,
      lane: data.lane,
      seq: data.seq,
      needs: data.needs,
      step,
      body: head.body,
      objects: head.objects,
      lines: head.lines,
      ...(tail.length > 0 ? { rest: tail } : {}),
    },
  ];
}

function settle(
  data: TrackJobData,
  accepted: number,
  failed: FailedObject[],
  continuations: TrackJobData[],
  stage: 'braze' | 'exhausted',
  attempts: number,
  at: number,
  maybeDelivered = false,
): Settlement {
  const deadLetters = failed.map((f) => toDeadLetter(data.runId, f, stage, attempts, at, maybeDelivered));
  return {
    kind: 'settle',
    deltas: {
      objectsAccepted: accepted,
      objectsFailed: failed.length,
      deadLetters: deadLetters.length,
      // The continuations are counted open by the worker's claim before they are queued.
      jobsOpen: -1,
    },
    deadLetters,
    continuations,
  };
}

function everyObject(
  data: TrackJobData,
  body: Uint8Array | string,
  status: number,
  message: string,
): FailedObject[] {
  const code = status ? `http_${status}` : 'network_error';
  return located(sentChunk(body, data).body(), data.lines).map((x) => ({ ...x, code, message, status }));
}

/** A refused Braze object becomes a Braze-shaped JSONL record, replayable as it is. */
export function toDeadLetter(
  runId: string,
  f: FailedObject,
  stage: 'braze' | 'exhausted',
  attempts: number,
  at: number,
  maybeDelivered = false,
): DeadLetter {
  const { external_id, ...rest } = f.object as BrazeObject & { external_id?: unknown };
  const value =
    f.array === 'attributes' ? { external_id, attributes: rest } : { external_id, [f.array]: [rest] };
  return {
    runId,
    source: '',
    line: f.lines[0] ?? 0,
    ...(f.lines.length > 1 ? { lines: f.lines } : {}),
    stage,
    code: f.code,
    message: f.message,
    ...(f.status ? { status: f.status } : {}),
    attempts,
    ...(maybeDelivered ? { maybeDelivered: true } : {}),
    record: { format: 'json', value },
    at,
  };
}

export { countObjects };
