import { TRACK_ARRAYS, type TrackArray } from '../../schemas/track.js';
import { RUN_ID_PATTERN } from '../runs/ids.js';

/**
 * What the dashboard shows of a queued chunk instead of its body: the body holds user records
 * (emails, names, attributes), which must not leave Redis through the UI. Only identifiers of the
 * chunk, counts and source line numbers survive; anything else in the job data is dropped.
 */
export interface JobDataSummary {
  runId: string | null;
  chunk: number | null;
  part: string | null;
  objects: Record<TrackArray, number> & { total: number };
  /** Size of the serialised request body. */
  bodyBytes: number | null;
  /** Lowest and highest source line number the chunk was built from (as dead letters report them). */
  sourceLines: { first: number; last: number } | null;
  /** A job holding a group of chunks: how many (`chunk` is then the first one's index). */
  chunks?: number;
}

const PART_PATTERN = /^[.\w]{0,32}$/;

const isRecord = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v);

/** Line numbers, however deeply nested (attributes carry one list per merged object). */
function collectLines(value: unknown, into: number[], depth = 0): void {
  if (typeof value === 'number' && Number.isSafeInteger(value)) into.push(value);
  else if (Array.isArray(value) && depth < 2) for (const v of value) collectLines(v, into, depth + 1);
}

export function summarizeJobData(data: unknown): JobDataSummary {
  const d = isRecord(data) ? data : {};
  if (Array.isArray(d['chunks'])) return summarizeGroup(d, d['chunks']);
  const lineMap = isRecord(d['lines']) ? d['lines'] : {};
  // Jobs of older versions carry the body as an object rather than serialised JSON.
  const body = isRecord(d['body']) ? d['body'] : undefined;
  const objects = { attributes: 0, events: 0, purchases: 0, total: 0 };
  for (const name of TRACK_ARRAYS) {
    // `lines` is parallel to the body's arrays: its lengths count the objects without parsing the body.
    const list = body ? body[name] : lineMap[name];
    objects[name] = Array.isArray(list) ? list.length : 0;
    objects.total += objects[name];
  }
  if (typeof d['objects'] === 'number' && Number.isSafeInteger(d['objects'])) objects.total = d['objects'];
  const lines: number[] = [];
  for (const name of TRACK_ARRAYS) collectLines(lineMap[name], lines);
  let sourceLines: JobDataSummary['sourceLines'] = null;
  if (lines.length > 0) {
    let first = lines[0]!;
    let last = first;
    for (const n of lines) {
      if (n < first) first = n;
      if (n > last) last = n;
    }
    sourceLines = { first, last };
  }
  return {
    // Run ids are validated when a run starts and parts are written by us; check anyway, it is cheap.
    runId: typeof d['runId'] === 'string' && RUN_ID_PATTERN.test(d['runId']) ? d['runId'] : null,
    chunk: typeof d['chunk'] === 'number' && Number.isSafeInteger(d['chunk']) ? d['chunk'] : null,
    part: typeof d['part'] === 'string' && PART_PATTERN.test(d['part']) ? d['part'] : null,
    objects,
    // v2 jobs keep the body beside them and say its size; v1 jobs carry it.
    bodyBytes:
      typeof d['bytes'] === 'number' && Number.isSafeInteger(d['bytes'])
        ? d['bytes']
        : typeof d['body'] === 'string'
          ? Buffer.byteLength(d['body'])
          : null,
    sourceLines,
  };
}

const COUNTED = [...TRACK_ARRAYS, 'total'] as const;

/** A group of chunks (TrackGroupData): the sums of its chunks' summaries, the same fields and no more. */
function summarizeGroup(d: Record<string, unknown>, chunks: unknown[]): JobDataSummary {
  const parts = chunks
    .slice(0, 1000)
    .map((c) => summarizeJobData({ ...(isRecord(c) ? c : {}), runId: d['runId'] }));
  const objects = { attributes: 0, events: 0, purchases: 0, total: 0 };
  let bodyBytes = 0;
  let sourceLines: JobDataSummary['sourceLines'] = null;
  for (const p of parts) {
    for (const k of COUNTED) objects[k] += p.objects[k];
    bodyBytes += p.bodyBytes ?? 0;
    if (p.sourceLines) {
      sourceLines = sourceLines
        ? {
            first: Math.min(sourceLines.first, p.sourceLines.first),
            last: Math.max(sourceLines.last, p.sourceLines.last),
          }
        : p.sourceLines;
    }
  }
  return {
    runId: parts[0]?.runId ?? null,
    chunk: parts[0]?.chunk ?? null,
    part: null,
    objects,
    bodyBytes,
    sourceLines,
    chunks: parts.length,
  };
}

/** A worker returns `{accepted, failed}` counts: those two numbers and nothing else are shown. */
export function summarizeReturnValue(value: unknown): { accepted?: number; failed?: number } | null {
  if (!isRecord(value)) return null;
  const out: { accepted?: number; failed?: number } = {};
  if (typeof value['accepted'] === 'number') out.accepted = value['accepted'];
  if (typeof value['failed'] === 'number') out.failed = value['failed'];
  return out;
}

/** Progress is not used by the worker; show a number, never an object someone might put there. */
export function summarizeProgress(value: unknown): number | null {
  return typeof value === 'number' ? value : null;
}
