import type { CsvError } from 'csv-parse';
import { UsageError } from '../errors.js';
import { badText } from './text.js';

/**
 * The CSV reader's rules, apart from its byte bookkeeping (csv.ts): how many lines a record spans,
 * what makes a header unusable, and csv-parse's errors in our words.
 */

/** The longest record csv-parse is asked to hold (see csv.ts). */
export const MAX_RECORD_CHARS = 8 * 1024 * 1024;

export interface HeaderOptions {
  name: string;
  /** The column that must exist (after --id-column / mapping renames). */
  idColumn: string;
}

/** A record spans one line more per "\n" inside its quoted fields. */
export function newlines(record: string[]): number {
  let count = 0;
  for (let i = 0; i < record.length; i++) {
    const field = record[i]!;
    for (let at = field.indexOf('\n'); at !== -1; at = field.indexOf('\n', at + 1)) count++;
  }
  return count;
}

/** Duplicate names and a missing id column make every row meaningless: stop before sending anything. */
export function checkHeader(
  record: string[],
  options: HeaderOptions,
  line: number,
  suspicious: boolean,
): string[] {
  const header = record.map((name) => name.trim());
  const problems: string[] = [];
  const broken = suspicious ? header.find((name) => badText(name) !== undefined) : undefined;
  if (broken !== undefined) {
    throw new UsageError(`${options.name}: the header on line ${line} ${badText(broken)}`);
  }
  const seen = new Map<string, number>();
  header.forEach((name, i) => {
    const first = seen.get(name);
    if (first === undefined) seen.set(name, i);
    else
      problems.push(`${options.name}: duplicate column name "${name}" (columns ${first + 1} and ${i + 1})`);
  });
  if (!seen.has(options.idColumn)) {
    const shown = header.length > 12 ? `${header.slice(0, 12).join(', ')}, …` : header.join(', ');
    const hint = options.idColumn === 'external_id' ? '; use --id-column to name the id column' : '';
    problems.push(
      `${options.name}: no "${options.idColumn}" column in the header on line ${line} (columns: ${shown})${hint}`,
    );
  }
  if (problems.length > 0) throw new UsageError(problems);
  return header;
}

/** csv-parse's reason in our words, without its line numbers (they restart with every engine). */
export function csvMessage(error: CsvError, quoting: boolean, header: readonly string[] | undefined): string {
  const index = (error as { column?: unknown }).column;
  const name = typeof index === 'number' ? header?.[index] : undefined;
  const column =
    name !== undefined ? `column "${name}"` : typeof index === 'number' ? `column ${index + 1}` : 'a field';
  const doubled = 'write a quote inside a field as "" and quote the whole field';
  switch (error.code) {
    case 'CSV_QUOTE_NOT_CLOSED':
      return 'a quoted field opened on this line is never closed (a stray quote?)';
    case 'CSV_MAX_RECORD_SIZE':
      return quoting
        ? `a quoted field opened on this line runs past ${MAX_RECORD_CHARS} characters (a stray quote?)`
        : `row longer than ${MAX_RECORD_CHARS} characters (no request could carry it)`;
    case 'CSV_INVALID_CLOSING_QUOTE': {
      const got = /got "(.*?)" at line/s.exec(error.message)?.[1];
      const after = got === undefined ? 'text' : JSON.stringify(got);
      return `${column}: a closing quote is followed by ${after}, not by a delimiter or the end of the line (${doubled})`;
    }
    case 'INVALID_OPENING_QUOTE':
      return `${column}: a quote inside an unquoted value (${doubled})`;
    default:
      return error.message
        .replace(/\s+/g, ' ')
        .replace(/ (?:at|on) line \d+/g, '')
        .trim();
  }
}
