import type { RawRow } from '../../schemas/record.js';

/** A broken line's dead letter keeps this many characters of it. */
const RAW_CHARS = 4096;
/** Bytes kept to make those characters (4 per character at most in UTF-8). */
const RAW_BYTES = RAW_CHARS * 4;

/**
 * The error row of a CSV line that could not be parsed. Its text goes into the dead letter, so an
 * export gives the line back; a line that goes on past what has arrived keeps collecting its bytes
 * (up to RAW_BYTES) until its newline or the end of the input, instead of being cut at the read
 * that happened to hold the error. A clipped text ends with "…".
 */
export class BrokenLine {
  private readonly parts: Buffer[] = [];
  private size = 0;
  private clipped = false;

  constructor(
    private readonly line: number,
    private readonly message: string,
  ) {}

  add(bytes: Buffer): void {
    const room = RAW_BYTES - this.size;
    if (bytes.length > room) this.clipped = true;
    const kept = bytes.length > room ? bytes.subarray(0, room) : bytes;
    if (kept.length === 0) return;
    this.parts.push(kept);
    this.size += kept.length;
  }

  row(): RawRow {
    const text = Buffer.concat(this.parts).toString('utf8').replace(/\r$/, '');
    const raw = text.length > RAW_CHARS || this.clipped ? `${text.slice(0, RAW_CHARS)}…` : text;
    return { line: this.line, kind: 'error', code: 'bad_csv', message: this.message, raw };
  }
}
