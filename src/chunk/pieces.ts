import type { UserRecord } from '../../schemas/record.js';
import { jsonBytes, jsonBytesBound, type Kind } from './body.js';

/** One object of a /users/track body, with its identifier. */
export type BrazeObject = Record<string, unknown> & { external_id: string };

/** An object on its way into a chunk, with an upper bound of its JSON size (see jsonBytesBound). */
export interface Piece {
  kind: Kind;
  object: BrazeObject;
  bound: number;
  /** jsonBytes(object), computed only when a bound is not good enough. */
  exact?: number;
}

export function exactSize(piece: Piece): number {
  piece.exact ??= jsonBytes(piece.object);
  return piece.exact;
}

/** A record's objects in body order: its attributes object first, then events, then purchases. */
export function piecesOf(record: UserRecord): Piece[] {
  const pieces: Piece[] = [];
  const id = record.externalId;
  const piece = (kind: Kind, object: BrazeObject) =>
    pieces.push({ kind, object, bound: jsonBytesBound(object) });
  // Spreads define own properties, so even a "__proto__" key could not reach a prototype here.
  if (record.attributes) piece('attributes', { external_id: id, ...record.attributes });
  for (const event of record.events ?? []) piece('events', { external_id: id, ...event });
  for (const purchase of record.purchases ?? []) piece('purchases', { external_id: id, ...purchase });
  return pieces;
}

/** "attributes", "events[3]", "purchases[0]": which part of the record a piece is. */
export function fieldOf(pieces: Piece[], i: number): string {
  const piece = pieces[i]!;
  if (piece.kind === 'attributes') return 'attributes';
  const first = pieces.findIndex((p) => p.kind === piece.kind);
  return `${piece.kind}[${i - first}]`;
}
