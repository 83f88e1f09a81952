import { isUtf8 } from 'node:buffer';

/**
 * What a text decoder hides: bytes that are not UTF-8 (decoded as U+FFFD) and NUL bytes (valid
 * UTF-8, but never in a text export: binary data, or UTF-16 read as UTF-8). A file is checked chunk
 * by chunk with the native isUtf8, so rows are only searched for such characters once the file has
 * shown some: a clean file pays one memchr and one UTF-8 validation per chunk.
 */

/** Watches a byte stream; `suspicious` turns true (for good) at the first bad byte. */
export class ByteWatch {
  suspicious = false;
  /** A multi-byte character cut by the end of the previous chunk. */
  private carry: Buffer | undefined;

  see(chunk: Buffer): void {
    if (this.suspicious) return;
    let bytes = this.carry ? Buffer.concat([this.carry, chunk]) : chunk;
    this.carry = undefined;
    const cut = incompleteTail(bytes);
    if (cut < bytes.length) {
      this.carry = Buffer.from(bytes.subarray(cut));
      bytes = bytes.subarray(0, cut);
    }
    if (bytes.indexOf(0) !== -1 || !isUtf8(bytes)) this.suspicious = true;
  }

  /** A character still cut at the end of the input is not UTF-8. */
  end(): void {
    if (this.carry) this.suspicious = true;
  }
}

/** Where a multi-byte sequence cut off by the end of `b` begins; b.length when nothing is cut. */
function incompleteTail(b: Buffer): number {
  for (let i = b.length - 1; i >= 0 && i >= b.length - 3; i--) {
    const c = b[i]!;
    if (c < 0x80) return b.length;
    if (c >= 0xc0) {
      const need = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return b.length - i < need ? i : b.length;
    }
  }
  return b.length;
}

/** Why decoded text cannot be sent as it is, or undefined when it can. */
export function badText(text: string): string | undefined {
  if (text.includes('\uFFFD'))
    return 'is not valid UTF-8 (was the file exported as Latin-1 or Windows-1252?)';
  if (text.includes('\0')) return 'contains a NUL byte (binary data, or a UTF-16 file?)';
  return undefined;
}

/** Above this share of odd characters in the first bytes, a file is not CSV or JSONL at all. */
const BINARY_SHARE = 0.1;

/**
 * A file that is not text at all (a zip, an image, UTF-16, random bytes) is refused as a whole
 * rather than turned into thousands of rejected rows; `head` is the first bytes (gunzipped). A few
 * bad bytes in otherwise good text are left to the readers, which reject just those rows.
 */
export function notText(head: Buffer): string | undefined {
  if (head.length === 0) return undefined;
  if ((head[0] === 0xff && head[1] === 0xfe) || (head[0] === 0xfe && head[1] === 0xff))
    return 'is UTF-16 text; convert it to UTF-8';
  if (head.subarray(0, 4).equals(Buffer.from('PK\x03\x04', 'latin1')))
    return 'is a ZIP archive (an .xlsx workbook?), not CSV or JSONL; export it as CSV';
  const sample = head.subarray(0, incompleteTail(head));
  if (isUtf8(sample) && sample.indexOf(0) === -1 && !hasControl(sample)) return undefined;
  const text = sample.toString('utf8');
  let odd = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0xfffd || isControl(c)) odd++;
  }
  if (odd <= text.length * BINARY_SHARE) return undefined;
  const share = Math.round((odd / text.length) * 100);
  return `does not look like CSV or JSONL text: ${share}% of its first ${sample.length} bytes are binary or not UTF-8`;
}

/** A control character that text files do not hold (tab, newlines and form feed are fine). */
function isControl(c: number): boolean {
  return (c < 0x20 && c !== 9 && c !== 10 && c !== 12 && c !== 13) || c === 0x7f;
}

function hasControl(b: Buffer): boolean {
  for (let i = 0; i < b.length; i++) if (isControl(b[i]!)) return true;
  return false;
}
