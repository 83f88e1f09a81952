import type { Rejection, UserRecord } from '../../schemas/record.js';
import { aloneBytes, bodyBytes, bytesWith, emptyTally, KINDS, type Kind, type Tally } from './body.js';
import { idHash, idTag, RecentUsers } from './lane.js';
import { canMerge, merged as mergedObject } from './merge.js';
import { type BrazeObject, fieldOf, objectOf, type Piece, pieceOf, piecesOf } from './pieces.js';

/**
 * UserRecords -> /users/track bodies. Pure and deterministic: the same records in the same order give
 * the same chunks with the same indexes, lanes and dependencies. Each record contributes one
 * attributes object (when it has `attributes`) and one object per event and purchase, each with
 * external_id added.
 *
 * - **Lanes.** A user's rows always go to one lane (a hash of its external_id, `lanes` of them); each
 *   lane fills its own chunks, numbered `seq` 0, 1, 2 ... in file order. A chunk may be sent only
 *   once its lane has finished every chunk up to `needs`: the last earlier chunk of the lane holding
 *   one of its users (so a user's requests go one at a time, in file order), and in any case the
 *   chunk `window + 1` places back (so a lane has at most `window + 1` chunks under way).
 * - A chunk holds at most `maxObjects` objects in all (with `legacyPerArray`: per array), at most
 *   `maxPerUser` objects of one user when set (/users/track/bulk: 100), and its JSON body is at most
 *   `maxBytes`.
 * - Rows of one external_id inside one chunk share one attributes object only when one object does
 *   what the rows would do in order (src/chunk/merge.ts); otherwise the later row starts the lane's
 *   next chunk. Its entry in `lines.attributes` lists every source line merged into it. Events and
 *   purchases are appended.
 * - A record is kept whole in one chunk when it fits in an empty one; a bigger record (say 200 events)
 *   is split across consecutive chunks of its lane, attributes first.
 * - A record with one object too large for any body is not chunked at all: it is handed to
 *   `onReject` as a Rejection with code `object_too_large` (record = the UserRecord). Without
 *   `onReject`, push throws, because dropping a row silently is worse than stopping.
 */

export interface ChunkerOptions {
  maxObjects?: number;
  legacyPerArray?: boolean;
  maxBytes?: number;
  /** Objects of one user a chunk may hold (undefined: no limit but maxObjects). */
  maxPerUser?: number;
  /** Lanes a run's users are spread over (default 1: one ordered sequence). */
  lanes?: number;
  /** Chunks of one lane that may be under way beyond the last one finished, less one (default 8). */
  window?: number;
  onReject?: (rejection: Rejection) => void;
}

export type { BrazeObject } from './pieces.js';

export interface TrackBody {
  attributes?: BrazeObject[];
  events?: BrazeObject[];
  purchases?: BrazeObject[];
}

export interface Chunk {
  /** The body, parsed from `json` at each read (for tests and inspection; nothing on the hot path reads it). */
  readonly body: TrackBody;
  /** Objects in the body, all arrays together. */
  objects: number;
  /** What Braze bills for the body (src/validate/data-points.ts, dataPointsOfBody). */
  dataPoints: number;
  /** 0-based, in the order chunks are completed. */
  index: number;
  /** The lane of every user in it, and its place in the lane. */
  lane: number;
  seq: number;
  /** Sent only once the lane has finished every chunk with seq <= needs (-1: nothing to wait for). */
  needs: number;
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
  /** Completes every open chunk, lane by lane. */
  flush(): Chunk[];
}

interface Open {
  /** The objects so far, as JSON text with exact sizes. */
  pieces: Record<Kind, Piece[]>;
  lines: Chunk['lines'];
  /** Object counts and exact bytes, by kind. */
  tally: Tally;
  /**
   * The lane's chunk this one must wait for (see Chunk.needs), raised as users already in one of the
   * lane's recent chunks join it. Whether a user is here at all is read from the lane's `recent`.
   */
  needs: number;
  /** Objects per user, kept only with maxPerUser. */
  perUser?: Map<string, number>;
  rows: number;
  lastLine: number;
}

/**
 * A lane: its open chunk (numbered `nextSeq`), and the newest of its chunks each recent user is in.
 * `recent` holds users of chunks from `recentFrom` on (the open one included), `older` those of the
 * chunks before; the two are swapped every `window` chunks, so together they always cover the last
 * `window` chunks, which is all `needs` looks at (older ones are covered by the window rule). One
 * lookup per object, instead of per-chunk user sets and a history to expire them from.
 */
interface Lane {
  open: Open;
  nextSeq: number;
  recent: RecentUsers;
  older: RecentUsers;
  recentFrom: number;
}

function openChunk(needs: number): Open {
  return {
    pieces: { attributes: [], events: [], purchases: [] },
    lines: { attributes: [], events: [], purchases: [] },
    tally: emptyTally(),
    needs,
    rows: 0,
    lastLine: -1,
  };
}

/** The newest chunk of the lane holding this user, if among its recent ones (the open chunk included), else -1. */
function newestOf(lane: Lane, hash: number, tag: number): number {
  const seq = lane.recent.get(hash, tag);
  return seq !== -1 ? seq : lane.older.get(hash, tag);
}

/** The position of this user's attributes object in the open chunk, or -1 (looked for only when the user is there). */
function attributesAt(open: Open, id: string): number {
  const list = open.pieces.attributes;
  for (let i = list.length - 1; i >= 0; i--) if (list[i]!.id === id) return i;
  return -1;
}

/** `{"attributes":[...],"events":[...]}` from the pieces' texts: what JSON.stringify(body) writes. */
function bodyJson(pieces: Record<Kind, Piece[]>): string {
  let json = '{';
  for (const kind of KINDS) {
    const list = pieces[kind];
    if (list.length === 0) continue;
    if (json.length > 1) json += ',';
    json += `"${kind}":[`;
    for (let i = 0; i < list.length; i++) json += i === 0 ? list[i]!.json : `,${list[i]!.json}`;
    json += ']';
  }
  return `${json}}`;
}

export function createChunker(options: ChunkerOptions = {}): Chunker {
  const maxObjects = options.maxObjects ?? 75;
  const maxBytes = options.maxBytes ?? 4 * 1024 * 1024;
  const perArray = options.legacyPerArray ?? false;
  const laneCount = options.lanes ?? 1;
  const window = options.window ?? 8;
  if (!Number.isInteger(maxObjects) || maxObjects < 1)
    throw new RangeError(`maxObjects must be >= 1, got ${maxObjects}`);
  if (!Number.isInteger(laneCount) || laneCount < 1)
    throw new RangeError(`lanes must be >= 1, got ${laneCount}`);
  const lanes: Lane[] = Array.from({ length: laneCount }, () => ({
    open: openChunk(-1),
    nextSeq: 0,
    recent: new RecentUsers(),
    older: new RecentUsers(),
    recentFrom: 0,
  }));
  let nextIndex = 0;
  let done: Chunk[] = [];

  const isEmpty = (open: Open) =>
    open.tally.count.attributes + open.tally.count.events + open.tally.count.purchases === 0;

  function close(laneNo: number): void {
    const lane = lanes[laneNo]!;
    const open = lane.open;
    if (isEmpty(open)) return;
    const seq = lane.nextSeq++;
    let points = 0;
    for (const kind of KINDS) for (const p of open.pieces[kind]) points += p.points;
    const c = open.tally.count;
    done.push({
      index: nextIndex++,
      lane: laneNo,
      seq,
      needs: open.needs,
      lines: open.lines,
      rows: open.rows,
      objects: c.attributes + c.events + c.purchases,
      dataPoints: points,
      bytes: bodyBytes(open.tally),
      json: bodyJson(open.pieces),
      // Parsed from its text only when asked for.
      get body(): TrackBody {
        return JSON.parse(this.json) as TrackBody;
      },
    });
    lane.open = openChunk(Math.max(lane.nextSeq - window - 1, -1));
    if (lane.nextSeq - lane.recentFrom >= window) {
      const dropped = lane.older;
      lane.older = lane.recent;
      dropped.clear();
      lane.recent = dropped;
      lane.recentFrom = lane.nextSeq;
    }
  }

  return chunkFilling(
    {
      lanes,
      maxObjects,
      maxBytes,
      maxPerUser: options.maxPerUser,
      perArray,
      close,
      onReject: options.onReject,
      laneCount,
    },
    () => {
      const out = done;
      done = [];
      return out;
    },
  );
}

interface Filling {
  lanes: Lane[];
  laneCount: number;
  maxObjects: number;
  maxBytes: number;
  maxPerUser: number | undefined;
  perArray: boolean;
  close: (lane: number) => void;
  onReject?: ((rejection: Rejection) => void) | undefined;
}

/** Putting records' objects into their lane's open chunk, closing it when they do not fit. */
function chunkFilling(f: Filling, take: () => Chunk[]): Chunker {
  const { maxObjects, maxBytes, perArray } = f;

  const hasRoom = (open: Open, kind: Kind, added: number): boolean => {
    const c = open.tally.count;
    return perArray
      ? c[kind] + added <= maxObjects
      : c.attributes + c.events + c.purchases + added <= maxObjects;
  };

  function noteRow(open: Open, line: number): void {
    if (open.lastLine !== line) open.rows++;
    open.lastLine = line;
  }

  /**
   * Folds into this chunk's attributes object for the same user. 'merged'; 'later' when the two may
   * not travel as one (the row goes in the lane's next chunk); 'full' when it would not fit.
   */
  function tryMerge(open: Open, piece: Piece, line: number): 'merged' | 'later' | 'full' | 'none' {
    const at = attributesAt(open, piece.id);
    if (at === -1) return 'none';
    const old = open.pieces.attributes[at]!;
    const earlier = objectOf(old);
    const later = objectOf(piece);
    if (!canMerge(earlier, later)) return 'later';
    const merged = pieceOf('attributes', mergedObject(earlier, later));
    const growth = merged.bytes - old.bytes;
    if (bytesWith(open.tally, 'attributes', growth, 0) > maxBytes) return 'full';
    open.pieces.attributes[at] = merged;
    open.tally.bytes.attributes += growth;
    open.lines.attributes[at]!.push(line);
    noteRow(open, line);
    return 'merged';
  }

  function fits(open: Open, piece: Piece): boolean {
    if (!hasRoom(open, piece.kind, 1)) return false;
    return bytesWith(open.tally, piece.kind, piece.bytes, 1) <= maxBytes;
  }

  function add(laneNo: number, hash: number, tag: number, piece: Piece, line: number): void {
    const lane = f.lanes[laneNo]!;
    const id = piece.id;
    // The newest chunk holding this user stays so when chunks close below: closing changes no user's.
    const newest = newestOf(lane, hash, tag);
    if (piece.kind === 'attributes' && newest === lane.nextSeq) {
      const merge = tryMerge(lane.open, piece, line);
      if (merge === 'merged') return;
      if (merge !== 'none') f.close(laneNo);
    }
    if (!fits(lane.open, piece)) f.close(laneNo);
    if (f.maxPerUser !== undefined && (lane.open.perUser?.get(id) ?? 0) >= f.maxPerUser) f.close(laneNo);
    const open = lane.open;
    if (f.maxPerUser !== undefined) {
      open.perUser ??= new Map();
      open.perUser.set(id, (open.perUser.get(id) ?? 0) + 1);
    }
    const list = open.pieces[piece.kind];
    if (piece.kind === 'attributes') open.lines.attributes.push([line]);
    else open.lines[piece.kind].push(line);
    list.push(piece);
    if (newest !== lane.nextSeq) {
      if (newest > open.needs) open.needs = newest;
      lane.recent.set(hash, tag, lane.nextSeq);
    }
    open.tally.count[piece.kind]++;
    open.tally.bytes[piece.kind] += piece.bytes;
    noteRow(open, line);
  }

  /** Would the whole record fit in the open chunk? (Merging is treated as a new object: conservative.) */
  function fitsWhole(open: Open, pieces: Piece[]): boolean {
    if (pieces.length === 1) return fits(open, pieces[0]!);
    const t = open.tally;
    for (const p of pieces) {
      t.count[p.kind]++;
      t.bytes[p.kind] += p.bytes;
    }
    const c = t.count;
    const roomy = perArray
      ? c.attributes <= maxObjects && c.events <= maxObjects && c.purchases <= maxObjects
      : c.attributes + c.events + c.purchases <= maxObjects;
    const small = roomy && bodyBytes(t) <= maxBytes;
    for (const p of pieces) {
      t.count[p.kind]--;
      t.bytes[p.kind] -= p.bytes;
    }
    return small;
  }

  function reject(record: UserRecord, piece: Piece, field: string): void {
    const rejection: Rejection = {
      line: record.line,
      code: 'object_too_large',
      field,
      message: `${field} is ${piece.bytes} bytes as JSON; a request body may be at most ${maxBytes} bytes`,
      externalId: record.externalId,
      record,
    };
    if (!f.onReject) throw new RangeError(`line ${record.line}: ${rejection.message}`);
    f.onReject(rejection);
  }

  return {
    push(record) {
      const pieces = piecesOf(record);
      for (const [i, piece] of pieces.entries()) {
        if (aloneBytes(piece.kind, piece.bytes) > maxBytes) {
          reject(record, piece, fieldOf(pieces, i));
          return take();
        }
      }
      // One hash for the user's lane (FNV-1a modulo the lane count); with a second, its key in the
      // lane's RecentUsers.
      const hash = idHash(record.externalId);
      const tag = idTag(record.externalId);
      const laneNo = hash % f.laneCount;
      const lane = f.lanes[laneNo]!;
      const open = lane.open;
      // A full chunk stays open for a lone attributes object that may merge into its user's: looked
      // for only when the lane's table says the user is in the open chunk (as `add` does): comparing
      // the ids of a whole chunk at every 75th row was 3% of `run --dry-run`.
      if (
        !fitsWhole(open, pieces) &&
        !(
          pieces.length === 1 &&
          newestOf(lane, hash, tag) === lane.nextSeq &&
          attributesAt(open, record.externalId) !== -1
        )
      )
        f.close(laneNo);
      for (const piece of pieces) add(laneNo, hash, tag, piece, record.line);
      return take();
    },
    flush() {
      for (let lane = 0; lane < f.laneCount; lane++) f.close(lane);
      return take();
    },
  };
}
