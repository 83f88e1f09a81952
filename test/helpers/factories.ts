import type { RawRow, UserRecord } from '../../schemas/record.js';
import type { RunStart } from '../../src/runs/store.js';

/** A valid UserRecord; override any field. */
export function makeUserRecord(overrides: Partial<UserRecord> = {}): UserRecord {
  return { line: 2, externalId: 'user-1', attributes: { first_name: 'Ada', vip: true }, ...overrides };
}

/** `count` events named e0, e1, ... for one record. */
export function makeEvents(count: number, time = '2024-05-01T10:00:00Z'): NonNullable<UserRecord['events']> {
  return Array.from({ length: count }, (_, i) => ({ name: `e${i}`, time }));
}

export interface CsvOptions {
  delimiter?: string;
  eol?: '\n' | '\r\n';
  /** Column order; default: every key of every row, in first-seen order. */
  header?: string[];
  bom?: boolean;
}

function quote(cell: string, delimiter: string): string {
  return /["\r\n]/.test(cell) || cell.includes(delimiter) ? `"${cell.replaceAll('"', '""')}"` : cell;
}

/** CSV text from objects (header from their keys) or from arrays (first array is the header). */
export function makeCsv(rows: Record<string, unknown>[] | string[][], options: CsvOptions = {}): string {
  const d = options.delimiter ?? ',';
  const eol = options.eol ?? '\n';
  let table: string[][];
  if (rows.length > 0 && Array.isArray(rows[0])) {
    table = rows as string[][];
  } else {
    const objects = rows as Record<string, unknown>[];
    const header = options.header ?? [...new Set(objects.flatMap((r) => Object.keys(r)))];
    table = [header, ...objects.map((r) => header.map((h) => (r[h] === undefined ? '' : String(r[h]))))];
  }
  const text = table.map((cells) => cells.map((c) => quote(c, d)).join(d)).join(eol) + eol;
  return options.bom ? `\uFEFF${text}` : text;
}

/** A CSV raw row as the reader produces it (all rows of one "file" should share one header array). */
export function makeCsvRow(values: Record<string, string>, line = 2, header = Object.keys(values)): RawRow {
  return { line, kind: 'csv', cells: header.map((name) => values[name] ?? ''), header };
}

export function makeJsonRow(value: unknown, line = 1): RawRow {
  return { line, kind: 'jsonl', value };
}

/** What a run records when it begins, for store-level tests; override any field. */
export function runStart(source: string, overrides: Partial<RunStart> = {}): RunStart {
  return {
    source,
    endpoint: 'http://127.0.0.1:1',
    keyFp: '0123456789abcdef',
    destId: 'dest00000000',
    mode: 'local',
    owner: 'test-owner',
    leaseUntil: Date.now() + 60_000,
    ...overrides,
  };
}
