import type { UserRecord } from '../../schemas/record.js';
import type { Kind } from './body.js';

/** One object of a /users/track body, with its identifier. */
export type BrazeObject = Record<string, unknown> & { external_id: string };

/** An object on its way into a chunk, serialised once: the text goes into the body as it is. */
export interface Piece {
  kind: Kind;
  object: BrazeObject;
  json: string;
  /** UTF-8 bytes of `json`. */
  size: number;
}

/** Native JSON.stringify beats any hand-written size walk, and its text is reused for the body. */
export function serialise(object: BrazeObject): { json: string; size: number } {
  const json = JSON.stringify(object);
  return { json, size: Buffer.byteLength(json, 'utf8') };
}

/** A record's objects in body order: its attributes object first, then events, then purchases. */
export function piecesOf(record: UserRecord): Piece[] {
  const pieces: Piece[] = [];
  const id = record.externalId;
  const piece = (kind: Kind, object: BrazeObject) => pieces.push({ kind, object, ...serialise(object) });
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
