import type { Rejection, UserRecord } from '../../schemas/record.js';
import {
  aloneBytes,
  bodyBytes,
  bytesWith,
  emptyTally,
  jsonBytesBound,
  KINDS,
  type Kind,
  type Tally,
} from './body.js';
import { type BrazeObject, exactSize, fieldOf, type Piece, piecesOf } from './pieces.js';

/**
 * UserRecords -> /users/track bodies. Pure and deterministic: the same records in the same order give
 * the same chunks with the same indexes. Each record contributes one attributes object (when it has
 * `attributes`) and one object per event and purchase, each with external_id added.
 *
 * - A chunk holds at most `maxObjects` objects in all (with `legacyPerArray`: per array) and its JSON
 *   body is at most `maxBytes`.
 * - Rows of one external_id inside one chunk share one attributes object (later values win); its entry
 *   in `lines.attributes` lists every source line merged into it. Events and purchases are appended.
 * - A record is kept whole in one chunk when it fits in an empty one; a bigger record (say 200 events)
 *   is split across consecutive chunks, attributes first.
 * - A record with one object too large for any body is not chunked at all: it is handed to
 *   `onReject` as a Rejection with code `object_too_large` (record = the UserRecord). Without
 *   `onReject`, push throws, because dropping a row silently is worse than stopping.
 */

export interface ChunkerOptions {
  maxObjects?: number;
  legacyPerArray?: boolean;
  maxBytes?: number;
  onReject?: (rejection: Rejection) => void;
}

export type { BrazeObject } from './pieces.js';

export interface TrackBody {
  attributes?: BrazeObject[];
  events?: BrazeObject[];
  purchases?: BrazeObject[];
}

export interface Chunk {
  /** 0-based, in the order chunks are completed. */
  index: number;
  body: TrackBody;
  /** Source line(s) of each object, index-aligned with the body's arrays. */
  lines: { attributes: number[][]; events: number[]; purchases: number[] };
  /** Distinct source rows with at least one object here (a split row counts in each of its chunks). */
  rows: number;
  /** Exact UTF-8 size of `json`. */
  bytes: number;
  /** The body as JSON text (JSON.stringify(body)), made once here so nothing downstream re-encodes it. */
  json: string;
}

export interface Chunker {
  /** Adds one record; returns the chunks it completed (usually none). */
  push(record: UserRecord): Chunk[];
  /** Completes the open chunk, if any. */
  flush(): Chunk[];
}

interface Open {
  /** The objects so far, with their size bounds (and exact sizes, once asked for). */
  pieces: Record<Kind, Piece[]>;
  lines: Chunk['lines'];
  /** Object counts, and bytes as upper bounds (never less than the real size). */
  tally: Tally;
  /** external_id -> position of its attributes object, for merging. */
  attributesAt: Map<string, number>;
  rows: number;
  lastLine: number;
}

function openChunk(): Open {
  return {
    pieces: { attributes: [], events: [], purchases: [] },
    lines: { attributes: [], events: [], purchases: [] },
    tally: emptyTally(),
    attributesAt: new Map(),
    rows: 0,
    lastLine: -1,
  };
}

export function createChunker(options: ChunkerOptions = {}): Chunker {
  const maxObjects = options.maxObjects ?? 75;
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const perArray = options.legacyPerArray ?? false;
  if (!Number.isInteger(maxObjects) || maxObjects < 1)
    throw new RangeError(`maxObjects must be >= 1, got ${maxObjects}`);
  let open = openChunk();
  let nextIndex = 0;
  let done: Chunk[] = [];

  const hasRoom = (kind: Kind, added: number): boolean => {
    const c = open.tally.count;
    return perArray
      ? c[kind] + added <= maxObjects
      : c.attributes + c.events + c.purchases + added <= maxObjects;
  };
  const isEmpty = () =>
    open.tally.count.attributes + open.tally.count.events + open.tally.count.purchases === 0;

  function close(): void {
    if (isEmpty()) return;
    const body: TrackBody = {};
    for (const kind of KINDS) {
      if (open.pieces[kind].length > 0) body[kind] = open.pieces[kind].map((p) => p.object);
    }
    // One stringify of the whole body beats stringifying each object and joining (measured: ~20%).
    const json = JSON.stringify(body);
    done.push({
      index: nextIndex++,
      body,
      lines: open.lines,
      rows: open.rows,
      bytes: Buffer.byteLength(json, 'utf8'),
      json,
    });
    open = openChunk();
  }

  function noteRow(line: number): void {
    if (open.lastLine !== line) open.rows++;
    open.lastLine = line;
  }

  /**
   * The exact body size of the open chunk plus `extra` pieces, with the attributes piece at
   * `merged.at` replaced: asked only when the bounds say the body might pass maxBytes.
   */
  function exactBytes(extra: readonly Piece[], merged?: { at: number; piece: Piece }): number {
    const t = emptyTally();
    const count = (p: Piece) => {
      t.count[p.kind]++;
      t.bytes[p.kind] += exactSize(p);
    };
    for (const kind of KINDS) {
      const list = open.pieces[kind];
      for (let i = 0; i < list.length; i++) {
        count(kind === 'attributes' && merged?.at === i ? merged.piece : list[i]!);
      }
    }
    for (const p of extra) count(p);
    return bodyBytes(t);
  }

  /** Merges into this chunk's attributes object for the same user; false when it would not fit. */
  function tryMerge(piece: Piece, line: number): boolean {
    const at = open.attributesAt.get(piece.object.external_id);
    if (at === undefined) return false;
    const old = open.pieces.attributes[at]!;
    const object: BrazeObject = { ...old.object, ...piece.object };
    const merged: Piece = { kind: 'attributes', object, bound: jsonBytesBound(object) };
    const growth = merged.bound - old.bound;
    if (
      bytesWith(open.tally, 'attributes', growth, 0) > maxBytes &&
      exactBytes([], { at, piece: merged }) > maxBytes
    )
      return false;
    open.pieces.attributes[at] = merged;
    open.tally.bytes.attributes += growth;
    open.lines.attributes[at]!.push(line);
    noteRow(line);
    return true;
  }

  function fits(piece: Piece): boolean {
    if (!hasRoom(piece.kind, 1)) return false;
    return bytesWith(open.tally, piece.kind, piece.bound, 1) <= maxBytes || exactBytes([piece]) <= maxBytes;
  }

  function add(piece: Piece, line: number): void {
    if (piece.kind === 'attributes' && tryMerge(piece, line)) return;
    if (!fits(piece)) close();
    const list = open.pieces[piece.kind];
    if (piece.kind === 'attributes') {
      open.attributesAt.set(piece.object.external_id, list.length);
      open.lines.attributes.push([line]);
    } else {
      open.lines[piece.kind].push(line);
    }
    list.push(piece);
    open.tally.count[piece.kind]++;
    open.tally.bytes[piece.kind] += piece.bound;
    noteRow(line);
  }

  /** Would the whole record fit in the open chunk? (Merging is treated as a new object: conservative.) */
  function fitsWhole(pieces: Piece[]): boolean {
    if (pieces.length === 1) return fits(pieces[0]!);
    const t = open.tally;
    for (const p of pieces) {
      t.count[p.kind]++;
      t.bytes[p.kind] += p.bound;
    }
    const c = t.count;
    const roomy = perArray
      ? c.attributes <= maxObjects && c.events <= maxObjects && c.purchases <= maxObjects
      : c.attributes + c.events + c.purchases <= maxObjects;
    const small = roomy && bodyBytes(t) <= maxBytes;
    for (const p of pieces) {
      t.count[p.kind]--;
      t.bytes[p.kind] -= p.bound;
    }
    return small || (roomy && exactBytes(pieces) <= maxBytes);
  }

  function reject(record: UserRecord, piece: Piece, field: string): void {
    const rejection: Rejection = {
      line: record.line,
      code: 'object_too_large',
      field,
      message: `${field} is ${exactSize(piece)} bytes as JSON; a request body may be at most ${maxBytes} bytes`,
      externalId: record.externalId,
      record,
    };
    if (!options.onReject) throw new RangeError(`line ${record.line}: ${rejection.message}`);
    options.onReject(rejection);
  }

  return {
    push(record) {
      done = [];
      const pieces = piecesOf(record);
      for (const [i, piece] of pieces.entries()) {
        if (
          aloneBytes(piece.kind, piece.bound) > maxBytes &&
          aloneBytes(piece.kind, exactSize(piece)) > maxBytes
        ) {
          reject(record, piece, fieldOf(pieces, i));
          return done;
        }
      }
      if (!fitsWhole(pieces) && !(pieces.length === 1 && open.attributesAt.has(record.externalId))) close();
      for (const piece of pieces) add(piece, record.line);
      return done;
    },
    flush() {
      done = [];
      close();
      return done;
    },
  };
}
