import { open } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { gunzipSync, constants as zlib } from 'node:zlib';
import { UsageError } from '../errors.js';

/**
 * Opening the byte source: a file or stdin ("-"). The first bytes are read up front to detect gzip
 * by its magic number (names lie: a gzip file may be called .csv) and, when neither the flag nor the
 * file name says, to sniff CSV vs JSONL. A missing or unreadable file is a UsageError, one line.
 */

export type SourceFormat = 'csv' | 'jsonl';

export interface Input {
  /** The path, or "stdin". */
  name: string;
  stream: Readable;
  gzip: boolean;
  /** The first bytes (decompressed when gzip), for sniffing the format. */
  head: Buffer;
  /** File size in bytes (compressed, as on disk); undefined for stdin. */
  size: number | undefined;
}

const HEAD_BYTES = 64 * 1024;

export function cannotRead(name: string, err: unknown): UsageError {
  const message = err instanceof Error ? err.message : String(err);
  return new UsageError(`cannot read ${name}: ${message.split('\n')[0]}`);
}

export async function openInput(pathOrDash: string, stdin?: Readable): Promise<Input> {
  if (pathOrDash === '-') {
    const { head, stream } = await peek(stdin ?? process.stdin, 2);
    return describe('stdin', stream, head, undefined);
  }
  let handle: Awaited<ReturnType<typeof open>>;
  try {
    handle = await open(pathOrDash, 'r');
  } catch (err) {
    throw cannotRead(pathOrDash, err);
  }
  try {
    const { size } = await handle.stat();
    const buffer = Buffer.alloc(HEAD_BYTES);
    // A read (not a stat) also turns a directory into EISDIR here rather than mid-stream.
    const { bytesRead } = await handle.read(buffer, 0, HEAD_BYTES, 0);
    const stream = handle.createReadStream({ start: 0, highWaterMark: HEAD_BYTES });
    return describe(pathOrDash, stream, buffer.subarray(0, bytesRead), size);
  } catch (err) {
    await handle.close().catch(() => undefined);
    throw cannotRead(pathOrDash, err);
  }
}

function describe(name: string, stream: Readable, head: Buffer, size: number | undefined): Input {
  const gzip = head.length >= 2 && head[0] === 0x1f && head[1] === 0x8b;
  return { name, stream, gzip, head: gzip ? gunzipHead(head) : head, size };
}

/** Decompresses what the first bytes hold; a partial or broken stream yields what it can (maybe nothing). */
function gunzipHead(head: Buffer): Buffer {
  try {
    return gunzipSync(head, { finishFlush: zlib.Z_SYNC_FLUSH });
  } catch {
    return Buffer.alloc(0);
  }
}

/**
 * Reads at least `n` bytes from a stream without losing them: they are pushed back with unshift,
 * or, when the stream already ended, replayed from a new stream.
 */
export function peek(stream: Readable, n: number): Promise<{ head: Buffer; stream: Readable }> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      stream.off('readable', onReadable);
      stream.off('end', onEnd);
      stream.off('error', onError);
    };
    const finish = (ended: boolean) => {
      cleanup();
      const head = Buffer.concat(chunks);
      if (ended) resolve({ head, stream: Readable.from(head.length > 0 ? [head] : []) });
      else {
        if (head.length > 0) stream.unshift(head);
        resolve({ head, stream });
      }
    };
    const onReadable = () => {
      for (let chunk = stream.read(); chunk !== null; chunk = stream.read()) {
        const buf = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer);
        chunks.push(buf);
        size += buf.length;
        if (size >= n) return finish(false);
      }
      if (stream.readableEnded) finish(true);
    };
    const onEnd = () => finish(true);
    const onError = (err: Error) => {
      cleanup();
      reject(cannotRead('stdin', err));
    };
    stream.on('readable', onReadable);
    stream.once('end', onEnd);
    stream.once('error', onError);
  });
}

const BY_NAME: [RegExp, SourceFormat][] = [
  [/\.csv(\.gz)?$/i, 'csv'],
  [/\.tsv(\.gz)?$/i, 'csv'],
  [/\.(jsonl|ndjson)(\.gz)?$/i, 'jsonl'],
];

/** The flag wins; then the file name; then the content: a first non-blank "{" means JSONL. */
export function resolveFormat(input: Input, explicit: SourceFormat | undefined): SourceFormat {
  if (explicit) return explicit;
  for (const [pattern, format] of BY_NAME) if (pattern.test(input.name)) return format;
  const text = input.head.toString('utf8', 0, Math.min(input.head.length, 1024)).replace(/^\uFEFF/, '');
  return text.trimStart().startsWith('{') ? 'jsonl' : 'csv';
}
