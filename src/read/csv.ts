import { Transform, type TransformCallback } from 'node:stream';
import { type CsvError, Parser } from 'csv-parse';
import type { RawRow } from '../../schemas/record.js';
import { UsageError } from '../errors.js';
import { BrokenLine } from './broken-line.js';
import { FALLBACK, FastCsvEngine, fastDelimiter } from './csv-fast.js';
import { checkHeader, csvMessage, MAX_RECORD_CHARS, newlines } from './csv-rules.js';
import { ByteWatch, badText } from './text.js';

/**
 * CSV bytes -> raw rows. csv-parse splits records (BOM, CRLF, quotes, custom delimiter); this module
 * numbers them, checks the header once, and turns bad records into error rows instead of ending the
 * stream.
 *
 * Line numbers are counted here, not taken from csv-parse's `info`: its counter counts a CRLF inside
 * a quoted field twice, and `info`/`raw` cost ~15% throughput. A record starts on the line after
 * the previous one ended, and spans one line more per newline inside its quoted fields. Blank lines
 * arrive as [''] (skip_empty_lines off) so they are counted too.
 *
 * Recovery: csv-parse cannot go on after a quote error by itself (it stays inside the "quoted" field
 * and swallows the following rows, or reports one row twice). So this module drives csv-parse's
 * parsing core directly and keeps the bytes of the record in progress; when a record cannot be
 * parsed (stray or unclosed quote, a row past MAX_RECORD_CHARS) the physical line it starts on
 * becomes one error row, and a fresh parser starts on the next line. A stray quote costs its own
 * line, never the rest of the file.
 */

/** No row can be bigger than a 4 MB request body; the cap also stops a stray quote from buffering the file. */
export { MAX_RECORD_CHARS } from './csv-rules.js';

/** Re-parsing after errors may cost this much (bytes) beyond 4x the input before we give up. */
const RESCAN_ALLOWANCE = 64 * 1024 * 1024;

export interface CsvOptions {
  name: string;
  delimiter: string;
  /** The column that must exist (after --id-column / mapping renames). */
  idColumn: string;
  onHeader?: (header: readonly string[]) => void;
  /** Never the fast path (src/read/csv-fast.ts): csv-parse for every record (the tests' reference). */
  csvParseOnly?: boolean;
  /** Bytes re-parsed after errors allowed beyond 4x the input (default 64 MB; tests make it small). */
  rescanAllowance?: number;
  /** Counts of the records each engine read, and of hand-backs to the fast path (for tests). */
  engines?: EngineCounts;
}

export interface EngineCounts {
  fast: number;
  csvParse: number;
  handBacks: number;
}

/** csv-parse's parsing core (a Parser's `api`): bytes in, records out, an error returned. */
interface Engine {
  parse(
    buf: Buffer | undefined,
    end: boolean,
    push: (record: string[]) => void,
    close: () => void,
  ): Error | undefined;
  info: { bytes: number };
  state: { quoting: boolean };
  /** Empty until the first line ending is seen ("\n", "\r\n" or "\r"). */
  options: { record_delimiter: Buffer[] };
}

/**
 * Throws (a bad delimiter, say) the way csv-parse does, so callers can report it. A restarted engine
 * gets the line ending the first one found: rediscovering it costs an allocation per byte until the
 * next line ending, which made skipping a 10 MB line take seconds.
 */
function newEngine(delimiter: string, atStart: boolean, recordDelimiter: Buffer[] = []): Engine {
  const parser = new Parser({
    bom: atStart,
    delimiter,
    ...(recordDelimiter.length > 0 && { record_delimiter: [...recordDelimiter] }),
    relax_column_count: true,
    skip_empty_lines: false,
    max_record_size: MAX_RECORD_CHARS,
  });
  const api = (parser as unknown as { api?: Engine }).api;
  if (typeof api?.parse !== 'function' || typeof api.info?.bytes !== 'number') {
    throw new Error('csv-parse has no parsing core (Parser#api) where the CSV reader expects it');
  }
  return api;
}

const noop = () => undefined;

/**
 * One stream: bytes in, numbered raw rows out, the rows of each chunk read as one array (RowBatches).
 * A row pushed alone cost a stream hop and an iterator step of its own: 0.3-0.45 us each in a
 * microbenchmark, several times what the fast path takes to read a row.
 */
export function csvParser(options: CsvOptions): Transform {
  return new CsvReader(options);
}

class CsvReader extends Transform {
  private engine: Engine | FastCsvEngine;
  /** The fast path's delimiter byte (undefined: csv-parse only). */
  private readonly fast: number | undefined;
  /** Absolute offset of the current engine's first byte. */
  private base = 0;
  /** Absolute offset where the next record starts (just past the last one the engine gave). */
  private consumed = 0;
  /** Bytes from `heldFrom` on: everything not yet part of a finished record. */
  private held: Buffer[] = [];
  private heldFrom = 0;
  /** Bytes received so far. */
  private total = 0;
  /** After a row too long to hold: dropping bytes up to the end of its line. */
  private skipping = false;
  /** The error row of the line being skipped, sent when its end arrives. */
  private broken: BrokenLine | undefined;
  private rescanned = 0;
  /**
   * While csv-parse stands in (see `standIn`), the chunks still to arrive before the fast path takes
   * over again at the next record's start. A file the fast path cannot read at all (old Mac "\r"
   * endings) would hand back and forth at every chunk: each hand-back that falls back again on its
   * first record doubles how long csv-parse stays (`standInFor`, up to 256 chunks).
   */
  private standInChunks = 0;
  private standInFor = 1;
  /** Records the current engine gave since it started. */
  private sinceRestart = 0;
  private readonly watch = new ByteWatch();
  private header: string[] | undefined;
  private nextLine = 1;
  /** Rows of the chunk being read, pushed when it is done (see `send`). */
  private out: RawRow[] = [];

  constructor(private readonly options: CsvOptions) {
    // A batch holds a chunk's rows (~450 of 140 bytes from a 64 KB read): one is enough ahead.
    super({ readableObjectMode: true, readableHighWaterMark: 1 });
    this.fast = options.csvParseOnly === true ? undefined : fastDelimiter(options.delimiter);
    // csv-parse checks the delimiter (and throws the way callers report) even when the fast path reads.
    const checked = newEngine(options.delimiter, true);
    this.engine = this.fast === undefined ? checked : this.engineAt(0, true, []);
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, callback: TransformCallback): void {
    let failed: Error | undefined;
    try {
      this.watch.see(chunk);
      const start = this.total;
      this.total += chunk.length;
      if (!this.skipping) {
        this.held.push(chunk);
        if (this.standIn && --this.standInChunks <= 0) {
          // The fast path again, from the start of the record csv-parse is in (held from there on).
          this.restartAt(this.consumed);
          this.feed(this.unconsumed(), false);
        } else {
          this.feed(chunk, false);
        }
      } else {
        const nl = chunk.indexOf(10);
        this.broken?.add(nl === -1 ? chunk : chunk.subarray(0, nl));
        if (nl !== -1) {
          this.pushBroken();
          this.skipping = false;
          this.restartAt(start + nl + 1);
          const rest = chunk.subarray(nl + 1);
          this.held = [rest];
          this.heldFrom = start + nl + 1;
          this.feed(rest, false);
        }
      }
    } catch (err) {
      failed = err as Error;
    }
    // The rows read before an error go on ahead of it, as they did one by one.
    this.send();
    callback(failed);
  }

  override _flush(callback: TransformCallback): void {
    let failed: Error | undefined;
    try {
      this.watch.end();
      if (this.skipping) this.pushBroken();
      else this.feed(undefined, true);
      this.countRecords();
    } catch (err) {
      failed = err as Error;
    }
    this.send();
    callback(failed);
  }

  /** Parses `buf` (already held) or the end; each record that fails costs its first line only. */
  private feed(buf: Buffer | undefined, end: boolean): void {
    let input = buf;
    for (;;) {
      const err = this.engine.parse(input, end, this.onRecord, noop);
      if (err === undefined) break;
      if (err === FALLBACK) {
        // Not for the fast path: csv-parse goes on from the start of this record, until a record it
        // cannot parse either (then a fresh engine starts on the next line, the fast one again).
        // Not counted against the rescan bound: csv-parse alone would have read these bytes once too,
        // and the bound must give up on the same files with and without the fast path. Each such
        // re-feed follows the start, an error row or a hand-back to the fast path (see standIn).
        this.standInFor = this.sinceRestart === 0 ? Math.min(256, this.standInFor * 2) : 1;
        this.restartAt(this.consumed, false);
        this.standInChunks = this.standInFor;
        input = this.unconsumed();
        continue;
      }
      const nl = this.newlineAfter(this.consumed);
      this.rejectLine(err as CsvError, nl);
      if (nl === -1) {
        // The broken line goes on past what has arrived: drop it up to its newline, if any comes.
        this.held = [];
        this.heldFrom = this.total;
        this.skipping = !end;
        if (end) this.pushBroken();
        return;
      }
      this.restartAt(nl + 1);
      this.release(nl + 1);
      input = Buffer.concat(this.held);
      this.rescanned += input.length;
      if (this.rescanned > 4 * this.total + (this.options.rescanAllowance ?? RESCAN_ALLOWANCE)) {
        throw new UsageError(
          `cannot read ${this.options.name}: too many unbalanced quotes; this does not look like CSV (try --format or --delimiter)`,
        );
      }
    }
    this.release(this.consumed);
  }

  /** A fresh engine whose first byte is the absolute offset `at` (the start of a line): the fast one if it may. */
  private restartAt(at: number, fast = true): void {
    this.countRecords();
    if (fast && this.standIn && this.options.engines) this.options.engines.handBacks++;
    this.engine = this.engineAt(at, fast, this.engine.options.record_delimiter);
    this.sinceRestart = 0;
    this.base = at;
    this.consumed = at;
  }

  /**
   * csv-parse is reading for the fast path, from a record the fast path does not take (a bare "\r",
   * a second kind of line ending).
   */
  private get standIn(): boolean {
    return this.fast !== undefined && !(this.engine instanceof FastCsvEngine);
  }

  /** The held bytes from the start of the record in progress on, in one buffer. */
  private unconsumed(): Buffer {
    return Buffer.concat(this.heldBytes(this.consumed, this.total));
  }

  /** Adds the records the current engine gave to `options.engines`. */
  private countRecords(): void {
    const counts = this.options.engines;
    if (!counts) return;
    if (this.engine instanceof FastCsvEngine) counts.fast += this.sinceRestart;
    else counts.csvParse += this.sinceRestart;
    this.sinceRestart = 0;
  }

  /** The engine for bytes from `at` on, keeping the line ending already found (`known`). */
  private engineAt(at: number, fast: boolean, known: Buffer[]): Engine | FastCsvEngine {
    return this.fast === undefined || !fast
      ? newEngine(this.options.delimiter, at === 0, known)
      : new FastCsvEngine(this.fast, at === 0, [...known], MAX_RECORD_CHARS);
  }

  private readonly onRecord = (record: string[]): void => {
    this.sinceRestart++;
    const from = this.consumed;
    this.consumed = this.base + this.engine.info.bytes;
    const row = this.toRow(record, from);
    if (row !== undefined) this.out.push(row);
  };

  /** Hands on the rows read from the last chunk, as one array. */
  private send(): void {
    if (this.out.length === 0) return;
    this.push(this.out);
    this.out = [];
  }

  private toRow(record: string[], from: number): RawRow | undefined {
    const line = this.nextLine;
    this.nextLine = line + 1 + newlines(record);
    // csv-parse gives [''] for a blank line and for a line holding only "" (a quoted empty cell):
    // only the first is skipped; the second is a row (an empty id, or a ragged row) to reject.
    if (record.length === 1 && record[0] === '' && this.onlyLineEnds(from, this.consumed)) return undefined;
    const header = this.header;
    if (header === undefined) {
      this.header = checkHeader(record, this.options, line, this.watch.suspicious);
      this.options.onHeader?.(this.header);
      return undefined;
    }
    if (this.watch.suspicious) {
      for (let i = 0; i < record.length; i++) {
        const why = badText(record[i]!);
        if (why === undefined) continue;
        const column = header[i] ?? `column ${i + 1}`;
        return { line, kind: 'error', code: 'bad_encoding', message: `${column} ${why}`, raw: record };
      }
    }
    if (record.length !== header.length) {
      return {
        line,
        kind: 'error',
        code: 'ragged_row',
        message: `expected ${header.length} cells like the header, got ${record.length}`,
        raw: record,
      };
    }
    // Cells by position: a row object keyed by column names cost a megamorphic store per cell here
    // and a megamorphic load per cell in the validator (csvValues builds it for a dead letter).
    return { line, kind: 'csv', cells: record, header };
  }

  /** True when the held bytes in [from, to) are line endings only (and the BOM, at the very start). */
  private onlyLineEnds(from: number, to: number): boolean {
    let at = this.heldFrom;
    for (const buf of this.held) {
      for (let i = Math.max(0, from - at); i < buf.length && at + i < to; i++) {
        const b = buf[i]!;
        const bom = at + i < 3 && (b === 0xef || b === 0xbb || b === 0xbf);
        if (b !== 10 && b !== 13 && !bom) return false;
      }
      at += buf.length;
    }
    return true;
  }

  /** The record starting at `consumed` could not be parsed: its first line becomes an error row. */
  private rejectLine(err: CsvError, newline: number): void {
    const line = this.nextLine;
    const why = csvMessage(err, this.engine.state.quoting, this.header);
    if (this.header === undefined) {
      throw new UsageError(`${this.options.name}: cannot read the header on line ${line}: ${why}`);
    }
    this.nextLine = line + 1;
    const message = `${why}; line ${line} was skipped and reading went on with line ${line + 1}`;
    this.broken = new BrokenLine(line, message);
    for (const part of this.heldBytes(this.consumed, newline === -1 ? this.total : newline))
      this.broken.add(part);
    if (newline !== -1) this.pushBroken();
  }

  private pushBroken(): void {
    if (this.broken) this.out.push(this.broken.row());
    this.broken = undefined;
  }

  /** Absolute offset of the first "\n" at or after `from` in the held bytes, or -1. */
  private newlineAfter(from: number): number {
    let start = this.heldFrom;
    for (const buf of this.held) {
      const end = start + buf.length;
      if (end > from) {
        const at = buf.indexOf(10, Math.max(0, from - start));
        if (at !== -1) return start + at;
      }
      start = end;
    }
    return -1;
  }

  /** The held bytes in [from, to), as views of the held chunks. */
  private heldBytes(from: number, to: number): Buffer[] {
    const parts: Buffer[] = [];
    let start = this.heldFrom;
    for (const buf of this.held) {
      const end = start + buf.length;
      const a = Math.max(from, start);
      const b = Math.min(to, end);
      if (b > a) parts.push(buf.subarray(a - start, b - start));
      start = end;
    }
    return parts;
  }

  /** Forgets held bytes before the absolute offset `upTo`. */
  private release(upTo: number): void {
    while (this.held.length > 0) {
      const first = this.held[0]!;
      const end = this.heldFrom + first.length;
      if (end <= upTo) {
        this.held.shift();
        this.heldFrom = end;
        continue;
      }
      if (upTo > this.heldFrom) {
        this.held[0] = first.subarray(upTo - this.heldFrom);
        this.heldFrom = upTo;
      }
      break;
    }
    if (this.held.length === 0) this.heldFrom = Math.max(this.heldFrom, upTo);
  }
}
