/**
 * A fast path for csv-parse's parsing core, for the CSV that exports are made of: a one-byte
 * delimiter, "\n" or "\r\n" line endings, fields quoted with '"' and '""' inside them. It gives the
 * same records, the same byte counts and the same line ending as csv-parse with the reader's options
 * (relax_column_count, skip_empty_lines off, BOM stripped at the start of the file). It reports no
 * errors of its own: at anything else (a quote inside an unquoted field, text after a closing quote,
 * a quote not closed at the end, a bare "\r", a line ending other than the first one seen, a record
 * longer than the reader's cap) it answers FALLBACK without giving that record, and the reader goes
 * on with csv-parse from the start of that record, which reports the problem its own way.
 *
 * Why: csv-parse's byte loop checks every option on every byte, and was about 60% of reading. The
 * plain reference is csv-parse itself: test/unit/read-csv-fast.test.ts feeds both the same random
 * texts in random pieces and expects the same rows and offsets.
 */

export const FALLBACK = Symbol('csv fast path: go on with csv-parse');

const QUOTE = 0x22;
const LF = 0x0a;
const CR = 0x0d;

/** The delimiters the fast path takes: one byte, not a quote or a line ending. */
export function fastDelimiter(delimiter: string): number | undefined {
  if (delimiter.length !== 1) return undefined;
  const code = delimiter.charCodeAt(0);
  return code < 0x80 && code !== QUOTE && code !== LF && code !== CR ? code : undefined;
}

/** What one record's scan found: more bytes are needed, the fast path cannot take it, or where it ends. */
const MORE = -1;
const GIVE_UP = -2;

/**
 * How a field's bytes become its text. An unquoted ASCII field is cut from one latin1 string of the
 * whole record (a JavaScript substring, about a fifth of the cost of a Buffer decode per field); a
 * field with other bytes, or quoted, is decoded as UTF-8 on its own.
 */
const ASCII = 0;
const UTF8 = 1;
const QUOTED = 2;
const QUOTED_ESCAPED = 3;

export class FastCsvEngine {
  readonly info = { bytes: 0 };
  readonly state = { quoting: false };
  readonly options: { record_delimiter: Buffer[] };
  /** Bytes of a record not complete yet, from an earlier call. */
  private rest: Buffer | undefined;
  private bomPending: boolean;
  /** 0 until the first line ending; then LF for "\n", CR for "\r\n". */
  private ending = 0;
  private fields: string[] = [];
  /** The fields of the record being scanned: (start, end, kind) each, `spanCount` numbers of them. */
  private spans = new Int32Array(3 * 64);
  private spanCount = 0;

  constructor(
    private readonly delimiter: number,
    atStart: boolean,
    recordDelimiter: Buffer[],
    private readonly maxRecordBytes: number,
  ) {
    this.bomPending = atStart;
    this.options = { record_delimiter: recordDelimiter };
    // The line ending an earlier engine settled on (csv-parse may list it twice); anything else: none of ours.
    const known = [...new Set(recordDelimiter.map((b) => b.toString('latin1')))];
    if (known.length === 1) this.ending = known[0] === '\n' ? LF : known[0] === '\r\n' ? CR : -1;
    else if (known.length > 1) this.ending = -1;
  }

  /** Same contract as csv-parse's core: records through push; FALLBACK instead of an error. */
  parse(
    buf: Buffer | undefined,
    end: boolean,
    push: (record: string[]) => void,
  ): typeof FALLBACK | undefined {
    if (this.ending === -1) return FALLBACK;
    let data: Buffer;
    if (this.rest === undefined) data = buf ?? Buffer.alloc(0);
    else data = buf === undefined ? this.rest : Buffer.concat([this.rest, buf]);
    this.rest = undefined;
    let pos = 0;
    if (this.bomPending) {
      if (data.length < 3 && !end) {
        this.rest = data;
        return undefined;
      }
      this.bomPending = false;
      if (data.length >= 3 && data[0] === 0xef && data[1] === 0xbb && data[2] === 0xbf) {
        pos = 3;
        this.info.bytes += 3;
      }
    }
    while (pos < data.length) {
      const next = this.record(data, pos, end);
      if (next === MORE) {
        if (data.length - pos > this.maxRecordBytes) return FALLBACK;
        this.rest = data.subarray(pos);
        return undefined;
      }
      if (next === GIVE_UP || next - pos > this.maxRecordBytes) return FALLBACK;
      this.info.bytes += next - pos;
      pos = next;
      const record = this.fields;
      this.fields = [];
      push(record);
    }
    return undefined;
  }

  /** The record at `pos`: its fields into this.fields, and the offset just past it, MORE or GIVE_UP. */
  private record(data: Buffer, pos: number, end: boolean): number {
    const next = this.scan(data, pos, end);
    if (next >= 0) this.decode(data, pos);
    return next;
  }

  /** The fields' texts from their spans (see ASCII). */
  private decode(data: Buffer, pos: number): void {
    const spans = this.spans;
    const count = this.spanCount;
    const fields = this.fields;
    fields.length = 0;
    let line: string | undefined;
    for (let k = 0; k < count; k += 3) {
      const from = spans[k]!;
      const to = spans[k + 1]!;
      const kind = spans[k + 2]!;
      if (kind === ASCII) {
        line ??= data.toString('latin1', pos, spans[count - 2]);
        fields.push(line.slice(from - pos, to - pos));
      } else {
        const value = data.toString('utf8', from, to);
        fields.push(kind === QUOTED_ESCAPED ? value.replaceAll('""', '"') : value);
      }
    }
  }

  /** Finds the record's fields from `pos` into this.spans: the offset just past it, MORE or GIVE_UP. */
  private scan(data: Buffer, pos: number, end: boolean): number {
    const n = data.length;
    const d = this.delimiter;
    this.spanCount = 0;
    let i = pos;
    for (;;) {
      if (i - pos > this.maxRecordBytes) return GIVE_UP;
      let at: number;
      if (i < n && data[i] === QUOTE) {
        // A quoted field: up to the quote not followed by another.
        let j = i + 1;
        let escaped = false;
        let close = -1;
        while (j < n) {
          const q = data.indexOf(QUOTE, j);
          if (q === -1) break;
          if (q + 1 >= n) {
            if (!end) return MORE;
            close = q;
            break;
          }
          if (data[q + 1] === QUOTE) {
            escaped = true;
            j = q + 2;
            continue;
          }
          close = q;
          break;
        }
        if (close === -1) return end ? GIVE_UP : MORE;
        this.span(i + 1, close, escaped ? QUOTED_ESCAPED : QUOTED);
        at = close + 1;
        if (at < n) {
          const c = data[at]!;
          if (c !== d && c !== LF && c !== CR) return GIVE_UP;
        }
      } else {
        let high = 0;
        let j = i;
        for (; j < n; j++) {
          const c = data[j]!;
          if (c === d || c === LF || c === CR) break;
          if (c === QUOTE) return GIVE_UP;
          high |= c;
        }
        this.span(i, j, high < 0x80 ? ASCII : UTF8);
        at = j;
      }
      if (at >= n) {
        if (!end) return MORE;
        return n;
      }
      const c = data[at]!;
      if (c === d) {
        i = at + 1;
        continue;
      }
      return this.lineEnd(data, at, end);
    }
  }

  /** Notes a field's bytes [from, to) and how to decode them, growing the table when it is full. */
  private span(from: number, to: number, kind: number): void {
    let spans = this.spans;
    const k = this.spanCount;
    if (k + 3 > spans.length) {
      spans = new Int32Array(spans.length * 2);
      spans.set(this.spans);
      this.spans = spans;
    }
    spans[k] = from;
    spans[k + 1] = to;
    spans[k + 2] = kind;
    this.spanCount = k + 3;
  }

  /** The offset past the line ending at `at` (a "\n" or "\r" byte), MORE or GIVE_UP. */
  private lineEnd(data: Buffer, at: number, end: boolean): number {
    if (data[at] === LF) {
      if (this.ending === 0) this.learn(LF);
      return this.ending === LF ? at + 1 : GIVE_UP;
    }
    if (at + 1 >= data.length) return end ? GIVE_UP : MORE;
    if (data[at + 1] !== LF) return GIVE_UP;
    if (this.ending === 0) this.learn(CR);
    return this.ending === CR ? at + 2 : GIVE_UP;
  }

  private learn(ending: number): void {
    this.ending = ending;
    this.options.record_delimiter = [ending === LF ? Buffer.from('\n') : Buffer.from('\r\n')];
  }
}
