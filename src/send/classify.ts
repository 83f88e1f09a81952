import {
  type BrazeObject,
  type ChunkLines,
  type SentChunk,
  TRACK_ARRAYS,
  type TrackArray,
  type TrackBody,
  type TrackResponse,
  trackResponseSchema,
} from '../../schemas/track.js';

/** An object Braze refused, with where it came from. */
export interface FailedObject {
  array: TrackArray;
  object: BrazeObject;
  lines: number[];
  code: string;
  message: string;
  status: number;
}

export interface Remainder {
  body: TrackBody;
  lines: ChunkLines;
}

/** What happens next with a chunk, decided from Braze's answer alone. */
export type Outcome =
  | { kind: 'accepted'; accepted: number; failed: FailedObject[] }
  | { kind: 'partial'; failed: FailedObject[]; remainder: Remainder }
  | { kind: 'split' }
  | { kind: 'rate-limited'; waitMs: number }
  | { kind: 'retry'; status: number; message: string }
  | { kind: 'fatal'; status: number; message: string }
  | { kind: 'rejected'; failed: FailedObject[] };

export type Headers = Record<string, string | string[] | undefined>;

export const MAX_INPUT_MESSAGE = 'Max Input Length Exceeded';

/**
 * Pure: status + headers + body text + the chunk that was sent -> Outcome.
 * Braze's `errors[].index` is the position within the named array as sent. The chunk's body is
 * parsed only when the answer names objects or the chunk must be cut, never on a plain success.
 */
export function classifyResponse(
  status: number,
  headers: Headers,
  text: string,
  sent: SentChunk,
  now = Date.now(),
): Outcome {
  const ok = status >= 200 && status < 300;
  if (ok && !text.includes('"errors"')) return { kind: 'accepted', accepted: sent.objects, failed: [] };
  const parsed = parseBody(text);
  const message = parsed?.message ?? (text.slice(0, 200) || `HTTP ${status}`);
  const { lines } = sent;
  if (ok) {
    const failed = failedObjects(parsed, sent.body(), lines, status);
    return { kind: 'accepted', accepted: sent.objects - failed.length, failed };
  }
  if (status === 429) return { kind: 'rate-limited', waitMs: retryAfterMs(headers, now) };
  if (status === 413 || (status === 400 && message.includes(MAX_INPUT_MESSAGE))) {
    return sent.objects > 1
      ? { kind: 'split' }
      : { kind: 'rejected', failed: all(sent.body(), lines, status, message) };
  }
  if (status === 401 || status === 403) {
    return {
      kind: 'fatal',
      status,
      message: `Braze answered ${status} ${message}: check BRAZE_API_KEY and its users.track permission`,
    };
  }
  if (status === 404) {
    return { kind: 'fatal', status, message: `Braze answered 404 ${message}: check BRAZE_REST_ENDPOINT` };
  }
  if (status === 408 || status >= 500) return { kind: 'retry', status, message: `HTTP ${status} ${message}` };
  // Other 4xx: the request itself is wrong. Per-object errors name the culprits; the rest can go again.
  const body = sent.body();
  const failed = failedObjects(parsed, body, lines, status);
  if (failed.length === 0) return { kind: 'rejected', failed: all(body, lines, status, message) };
  const remainder = without(body, lines, failed);
  if (countObjects(remainder.body) === 0) return { kind: 'rejected', failed };
  return { kind: 'partial', failed, remainder };
}

function parseBody(text: string): TrackResponse | undefined {
  if (!text) return undefined;
  try {
    const result = trackResponseSchema.safeParse(JSON.parse(text));
    return result.success ? result.data : undefined;
  } catch {
    return undefined;
  }
}

export function countObjects(body: TrackBody): number {
  return (body.attributes?.length ?? 0) + (body.events?.length ?? 0) + (body.purchases?.length ?? 0);
}

function failedObjects(
  parsed: TrackResponse | undefined,
  body: TrackBody,
  lines: ChunkLines,
  status: number,
) {
  const out: FailedObject[] = [];
  const seen = new Set<string>();
  for (const e of parsed?.errors ?? []) {
    const array = e.input_array as TrackArray;
    if (!TRACK_ARRAYS.includes(array) || e.index === undefined) continue;
    const object = body[array]?.[e.index];
    if (!object || seen.has(`${array}:${e.index}`)) continue;
    seen.add(`${array}:${e.index}`);
    const type = e.type ?? 'rejected by Braze';
    out.push({
      array,
      object,
      lines: linesOf(lines, array, e.index),
      code: codeOf(type),
      message: type,
      status,
    });
  }
  return out;
}

function all(body: TrackBody, lines: ChunkLines, status: number, message: string): FailedObject[] {
  return located(body, lines).map(({ array, object, lines: l }) => ({
    array,
    object,
    lines: l,
    code: `http_${status}`,
    message,
    status,
  }));
}

function without(body: TrackBody, lines: ChunkLines, failed: FailedObject[]): Remainder {
  const drop = new Set(failed.map((f) => f.object));
  return assemble(located(body, lines).filter((x) => !drop.has(x.object)));
}

function linesOf(lines: ChunkLines, array: TrackArray, index: number): number[] {
  if (array === 'attributes') return lines.attributes[index] ?? [];
  const line = lines[array][index];
  return line === undefined ? [] : [line];
}

/** A stable code from Braze's error type, e.g. "'quantity' is not valid" -> braze_quantity_is_not_valid. */
function codeOf(type: string): string {
  if (/^[A-Z0-9_]+$/.test(type)) return type.toLowerCase();
  const slug = type
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '_')
    .replace(/^_|_$/g, '')
    .slice(0, 60);
  return `braze_${slug || 'rejected'}`;
}

/** What Braze's rate-limit headers say of its window: requests left, and when it resets. */
export interface RateInfo {
  limit: number;
  remaining: number;
  resetMs: number;
}

/** A header's number; undefined when it is missing or not a number. */
function headerNumber(headers: Headers, name: string): number | undefined {
  const v = headers[name] ?? headers[name.toLowerCase()];
  const n = Number(Array.isArray(v) ? v[0] : v);
  return v === undefined || !Number.isFinite(n) ? undefined : n;
}

/** Braze documents X-RateLimit-Reset both as epoch seconds and as seconds remaining: told apart by size. */
const resetToMs = (reset: number, now: number) => (reset > 1e9 ? reset * 1000 - now : reset * 1000);

/** From X-RateLimit-Limit/Remaining/Reset, when Braze sent them (undefined otherwise). */
export function rateInfo(headers: Headers, now = Date.now()): RateInfo | undefined {
  const limit = headerNumber(headers, 'x-ratelimit-limit');
  const remaining = headerNumber(headers, 'x-ratelimit-remaining');
  const reset = headerNumber(headers, 'x-ratelimit-reset');
  if (limit === undefined || remaining === undefined || reset === undefined) return undefined;
  return { limit, remaining, resetMs: Math.min(Math.max(resetToMs(reset, now), 0), 60_000) };
}

/** How long Braze asks us to wait: Retry-After seconds, else the window reset, else one second. */
export function retryAfterMs(headers: Headers, now = Date.now()): number {
  const clamp = (ms: number) => Math.min(Math.max(Math.ceil(ms), 100), 60_000);
  const retryAfter =
    headerNumber(headers, 'x-ratelimit-retry-after') || headerNumber(headers, 'retry-after') || 0;
  if (retryAfter > 0) return clamp(retryAfter * 1000);
  const reset = headerNumber(headers, 'x-ratelimit-reset') ?? 0;
  if (reset > 0) return clamp(resetToMs(reset, now));
  return 1000;
}

/** An object of a chunk with the array it sits in and its source lines. */
export interface Located {
  array: TrackArray;
  object: BrazeObject;
  lines: number[];
}

/** Every object of a chunk in body order (attributes, events, purchases). */
export function located(body: TrackBody, lines: ChunkLines): Located[] {
  const out: Located[] = [];
  for (const array of TRACK_ARRAYS) {
    const list = body[array] ?? [];
    for (let i = 0; i < list.length; i++)
      out.push({ array, object: list[i]!, lines: linesOf(lines, array, i) });
  }
  return out;
}

/** Halves for a 413 / Max Input Length answer: each keeps its own lines. */
export function splitInHalves(body: TrackBody, lines: ChunkLines): [Remainder, Remainder] {
  const flat = located(body, lines);
  const mid = Math.ceil(flat.length / 2);
  return [assemble(flat.slice(0, mid)), assemble(flat.slice(mid))];
}

function assemble(items: Located[]): Remainder {
  const out: Remainder = { body: {}, lines: { attributes: [], events: [], purchases: [] } };
  for (const { array, object, lines } of items) {
    const list = out.body[array] ?? [];
    out.body[array] = list;
    list.push(object);
    if (array === 'attributes') out.lines.attributes.push(lines);
    else out.lines[array].push(lines[0] ?? 0);
  }
  return out;
}
