import { mulberry32 } from '../src/emulator/faults.js';

/**
 * Deterministic user data: row i is a pure function of (seed, i), so a test can generate a file and
 * later compute what each profile must look like in the emulator without keeping the file in memory.
 */
const FIRST = ['Ada', 'Grace', 'Alan', 'Edsger', 'Barbara', 'Donald', 'Margaret', 'Linus', 'Radia', 'Ken'];
const LAST = [
  'Lovelace',
  'Hopper',
  'Turing',
  'Dijkstra',
  'Liskov',
  'Knuth',
  'Hamilton',
  'Torvalds',
  'Perlman',
];
const CITIES = ['Berlin', 'Paris', 'Lisbon', 'Austin', 'Osaka', 'Lima', 'Oslo', 'Accra', 'Perth', 'Quito'];
const COUNTRIES = ['DE', 'FR', 'PT', 'US', 'JP', 'PE', 'NO', 'GH', 'AU', 'EC'];
const TAGS = ['vip', 'beta', 'newsletter', 'churn-risk', 'mobile', 'web'];

export const CSV_COLUMNS = [
  'external_id',
  'email',
  'first_name',
  'last_name',
  'country',
  'home_city',
  'dob',
  'total_spend',
  'is_vip',
  'signup_at',
  'tags',
  'loyalty_points',
] as const;

/** The emulator's seeded PRNG: the same dice everywhere. */
export const rng = mulberry32;

const pick = <T>(r: () => number, list: readonly T[]): T => list[Math.floor(r() * list.length)]!;
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

export type BadKind = 'missing_id' | 'empty_id' | 'long_id' | 'ragged' | 'long_string';
const BAD_KINDS: BadKind[] = ['missing_id', 'empty_id', 'long_id', 'ragged', 'long_string'];

export interface GeneratedUser {
  index: number;
  externalId: string;
  /** The attributes as Braze must end up storing them (types included). */
  attributes: Record<string, unknown>;
  /** Set when the row is deliberately bad; the row must then be rejected. */
  bad?: BadKind;
}

export function user(seed: number, i: number, badRate = 0): GeneratedUser {
  const r = rng(seed * 1_000_003 + i);
  const bad = r() < badRate ? pick(r, BAD_KINDS) : undefined;
  const first = pick(r, FIRST);
  const last = pick(r, LAST);
  const city = Math.floor(r() * CITIES.length);
  const tags = TAGS.filter(() => r() < 0.3);
  const attributes: Record<string, unknown> = {
    email: `${first}.${last}.${i}@example.com`.toLowerCase(),
    first_name: first,
    last_name: last,
    country: COUNTRIES[city],
    home_city: CITIES[city],
    dob: `${1950 + Math.floor(r() * 55)}-${pad(1 + Math.floor(r() * 12))}-${pad(1 + Math.floor(r() * 28))}`,
    total_spend: Math.round(r() * 100_000) / 100,
    is_vip: r() < 0.1,
    signup_at: `2024-${pad(1 + Math.floor(r() * 12))}-${pad(1 + Math.floor(r() * 28))}T${pad(Math.floor(r() * 24))}:${pad(Math.floor(r() * 60))}:00Z`,
    tags,
    loyalty_points: Math.floor(r() * 5000) + 1,
  };
  return { index: i, externalId: `user-${seed}-${i}`, attributes, ...(bad ? { bad } : {}) };
}

function csvCell(v: unknown): string {
  const text = Array.isArray(v) ? JSON.stringify(v) : String(v);
  return /[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** One CSV line (no newline) for user i, bad in the way it says. */
export function csvLine(u: GeneratedUser): string {
  const a = u.attributes;
  const cells = CSV_COLUMNS.map((c) => (c === 'external_id' ? u.externalId : csvCell(a[c])));
  switch (u.bad) {
    case 'missing_id':
      cells[0] = '';
      break;
    case 'empty_id':
      cells[0] = '""';
      break;
    case 'long_id':
      cells[0] = 'x'.repeat(1000);
      break;
    case 'ragged':
      cells.length = 7;
      break;
    case 'long_string':
      cells[2] = 'y'.repeat(300);
      break;
  }
  return cells.join(',');
}

export function csvHeader(): string {
  return CSV_COLUMNS.join(',');
}

/** A JSONL line: half flat records, half Braze-shaped with events and purchases; a 'ragged' row is cut short (bad JSON). */
export function jsonlLine(
  seed: number,
  i: number,
  badRate = 0,
): { line: string; user: GeneratedUser; events: number; purchases: number } {
  const u = user(seed, i, badRate);
  const r = rng(seed * 7919 + i);
  const id =
    u.bad === 'missing_id' || u.bad === 'empty_id'
      ? ''
      : u.bad === 'long_id'
        ? 'x'.repeat(1000)
        : u.externalId;
  const attrs = u.bad === 'long_string' ? { ...u.attributes, first_name: 'y'.repeat(300) } : u.attributes;
  const finish = (line: string) => (u.bad === 'ragged' ? line.slice(0, Math.floor(line.length / 2)) : line);
  if (i % 2 === 0) {
    return { line: finish(JSON.stringify({ external_id: id, ...attrs })), user: u, events: 0, purchases: 0 };
  }
  const events = Array.from({ length: 1 + Math.floor(r() * 2) }, (_, k) => ({
    name: pick(r, ['app_open', 'added_to_cart', 'viewed_product']),
    time: `2025-0${1 + (k % 9)}-1${k % 10}T10:00:00Z`,
    properties: { source: pick(r, ['ios', 'android', 'web']), step: k },
  }));
  const purchases =
    r() < 0.5
      ? [
          {
            product_id: `sku-${Math.floor(r() * 100)}`,
            currency: 'USD',
            price: Math.round(r() * 10_000) / 100,
            quantity: 1 + Math.floor(r() * 3),
            time: '2025-03-01T12:00:00Z',
          },
        ]
      : [];
  const line = finish(
    JSON.stringify({
      external_id: id,
      attributes: attrs,
      events,
      ...(purchases.length ? { purchases } : {}),
    }),
  );
  return { line, user: u, events: events.length, purchases: purchases.length };
}
