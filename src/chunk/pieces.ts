import type { UserRecord } from '../../schemas/record.js';
import { attributePoints, eventPoints, purchasePoints } from '../validate/data-points.js';
import type { Kind } from './body.js';

/** One object of a /users/track body, with its identifier. */
export type BrazeObject = Record<string, unknown> & { external_id: string };

/**
 * An object on its way into a chunk, already as JSON text: a chunk's body is its pieces' texts joined
 * (what JSON.stringify of the body would write), and an open chunk holds one string per object
 * instead of the object's graph, which the young generation would otherwise copy at every scavenge
 * until the chunk closes (measured: a sixth of reading, validating and chunking went to the scavenger).
 */
export interface Piece {
  kind: Kind;
  /** The user's external_id. */
  id: string;
  json: string;
  /** Exact UTF-8 size of `json`. */
  bytes: number;
  /** What Braze bills for it (src/validate/data-points.ts). */
  points: number;
}

export function pieceOf(kind: Kind, object: BrazeObject): Piece {
  const json = JSON.stringify(object);
  const points =
    kind === 'attributes'
      ? attributePoints(object)
      : kind === 'events'
        ? eventPoints(object)
        : purchasePoints(object);
  return { kind, id: object.external_id, json, bytes: Buffer.byteLength(json, 'utf8'), points };
}

/** The object back from its text: only a merge needs it (two rows of one user in one chunk). */
export function objectOf(piece: Piece): BrazeObject {
  return JSON.parse(piece.json) as BrazeObject;
}

/** A record's objects in body order: its attributes object first, then events, then purchases. */
export function piecesOf(record: UserRecord): Piece[] {
  const pieces: Piece[] = [];
  const id = record.externalId;
  // Spreads define own properties, so even a "__proto__" key could not reach a prototype here.
  if (record.attributes) pieces.push(pieceOf('attributes', { external_id: id, ...record.attributes }));
  for (const event of record.events ?? []) pieces.push(pieceOf('events', { external_id: id, ...event }));
  for (const purchase of record.purchases ?? [])
    pieces.push(pieceOf('purchases', { external_id: id, ...purchase }));
  return pieces;
}

/** "attributes", "events[3]", "purchases[0]": which part of the record a piece is. */
export function fieldOf(pieces: Piece[], i: number): string {
  const piece = pieces[i]!;
  if (piece.kind === 'attributes') return 'attributes';
  const first = pieces.findIndex((p) => p.kind === piece.kind);
  return `${piece.kind}[${i - first}]`;
}
