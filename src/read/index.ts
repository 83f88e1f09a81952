import { createReadStream } from 'node:fs';
import { type Duplex, type Readable, Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';
import { chainUnchecked } from 'stream-chain';
import type { RawRow, RowBatches } from '../../schemas/record.js';
import { UsageError } from '../errors.js';
import { csvParser } from './csv.js';
import { cannotRead, openInput, resolveFormat, type SourceFormat } from './input.js';
import { jsonlBatchStages } from './jsonl.js';
import { notText } from './text.js';

/**
 * The I/O edge: a file or stdin -> an object stream of raw rows with line numbers, in batches (the
 * rows of one chunk read). One stream-chain pipeline (bytes -> gunzip? -> parser -> numbered rows),
 * so backpressure holds end to end: when the consumer stops pulling, the file stops being read.
 */

export type { SourceFormat } from './input.js';

export interface OpenSourceOptions {
  /** Overrides the guess from the file name (.csv, .tsv, .jsonl, .ndjson, each optionally .gz) or content. */
  format?: SourceFormat;
  /** CSV only; default "," ("\t" for .tsv). */
  delimiter?: string;
  /** Read instead of process.stdin when the path is "-" (tests, embedding). */
  stdin?: Readable;
  /** The CSV column that must exist (see resolveIdColumn in src/validate); default "external_id". */
  idColumn?: string;
  /**
   * Decompress a gzip file once before reading it (default true): a truncated or corrupt file is
   * refused before any row is read, instead of failing halfway through a run. Not for stdin.
   */
  verifyGzip?: boolean;
}

export interface Source extends AsyncIterable<RawRow> {
  /** The path, or "stdin". */
  name: string;
  format: SourceFormat;
  gzip: boolean;
  /** Size on disk (undefined for stdin) and bytes read so far, both before decompression: for progress. */
  size: number | undefined;
  readonly bytesRead: number;
  /** The CSV header (names trimmed); undefined for JSONL. Known once openSource has resolved. */
  readonly header: readonly string[] | undefined;
  /** The rows a batch at a time: what the producer reads (iterating the Source gives them one by one). */
  batches: RowBatches;
  /** Object-mode stream of RawRow arrays (batches); iterate the Source, `batches` or this, only one. */
  stream: Duplex;
  /** Stops reading and releases the file; safe to call twice. */
  close(): void;
}

/**
 * Opens a source and reads up to its first row, so that file-level problems (missing file, binary
 * content, a truncated gzip file, duplicate CSV column names, no id column) reject here as a
 * UsageError, before any run starts. Problems later in the stream (a truncated gzip on stdin, a
 * read error) make iteration throw a UsageError; bad rows are error rows, never exceptions.
 */
export async function openSource(pathOrDash: string, options: OpenSourceOptions = {}): Promise<Source> {
  const input = await openInput(pathOrDash, options.stdin);
  try {
    const binary = notText(input.head);
    if (binary !== undefined) throw new UsageError(`${input.name} ${binary}`);
    if (input.gzip && pathOrDash !== '-' && options.verifyGzip !== false) await verifyGzip(pathOrDash);
  } catch (err) {
    input.stream.destroy();
    throw err;
  }
  const format = resolveFormat(input, options.format);
  let header: readonly string[] | undefined;
  let stages: unknown[];
  try {
    stages =
      format === 'csv'
        ? [
            csvParser({
              name: input.name,
              delimiter: options.delimiter ?? (/\.tsv(\.gz)?$/i.test(input.name) ? '\t' : ','),
              idColumn: options.idColumn ?? 'external_id',
              onHeader: (names) => {
                header = names;
              },
            }),
          ]
        : jsonlBatchStages();
  } catch (err) {
    input.stream.destroy();
    throw new UsageError(`--delimiter ${JSON.stringify(options.delimiter)}: ${(err as Error).message}`);
  }
  let bytesRead = 0;
  const count = (chunk: Buffer) => {
    bytesRead += chunk.length;
    return chunk;
  };
  const parts: unknown[] = [input.stream, count, ...(input.gzip ? [createGunzip()] : []), ...stages];
  // skipEvents: errors are translated below instead of being re-emitted raw.
  // One batch ahead at the end of the chain (the default, 16 objects, was made for rows one by one).
  const stream = chainUnchecked<never, readonly RawRow[]>(parts, {
    skipEvents: true,
    readableHighWaterMark: 1,
  });
  const inner = stream.streams as (Readable | Duplex)[];
  for (const s of inner) s.on('error', (err: Error) => stream.destroy(translate(err, input)));
  stream.once('close', () => {
    for (const s of inner) s.destroy();
  });
  // Errors surface through iteration (the destroyed stream rejects the next read); without this
  // listener an error before the consumer starts pulling would crash the process instead.
  stream.on('error', () => undefined);
  await started(stream);
  return {
    name: input.name,
    format,
    gzip: input.gzip,
    size: input.size,
    get bytesRead() {
      return bytesRead;
    },
    get header() {
      return header;
    },
    batches: { [Symbol.asyncIterator]: () => stream[Symbol.asyncIterator]() },
    stream,
    close: () => stream.destroy(),
    [Symbol.asyncIterator]: () => rowsOf(stream),
  };
}

async function* rowsOf(batches: RowBatches): AsyncGenerator<RawRow> {
  for await (const batch of batches) yield* batch;
}

/** Rows that come one at a time (a replay's dead letters) as RowBatches of up to `size`. */
export async function* inBatches(rows: AsyncIterable<RawRow>, size = 256): AsyncGenerator<readonly RawRow[]> {
  let batch: RawRow[] = [];
  for await (const row of rows) {
    batch.push(row);
    if (batch.length >= size) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}

/** Decompresses the whole file, discarding the output: ~3 ms per MB, once, before anything is sent. */
async function verifyGzip(path: string): Promise<void> {
  const discard = new Writable({ write: (_chunk, _encoding, done) => done() });
  try {
    await pipeline(createReadStream(path, { highWaterMark: 64 * 1024 }), createGunzip(), discard);
  } catch (err) {
    const code = (err as { code?: unknown }).code;
    if (typeof code !== 'string' || !code.startsWith('Z_')) throw cannotRead(path, err);
    throw new UsageError(
      `cannot read ${path}: gzip data is truncated or corrupt (${(err as Error).message}); nothing was imported`,
    );
  }
}

/** Resolves when the first row (or the end) is buffered, without consuming it. */
function started(stream: Duplex): Promise<void> {
  return new Promise((resolve, reject) => {
    const settle = (err?: Error) => {
      stream.off('readable', onReadable);
      stream.off('error', settle);
      stream.off('close', onClose);
      if (err) reject(err);
      else resolve();
    };
    const onReadable = () => settle();
    const onClose = () => settle(stream.errored ?? undefined);
    stream.on('readable', onReadable);
    stream.once('error', settle);
    stream.once('close', onClose);
  });
}

function translate(err: Error, input: { name: string; gzip: boolean }): Error {
  if (err instanceof UsageError) return err;
  const code = (err as { code?: unknown }).code;
  if (typeof code === 'string' && code.startsWith('Z_')) {
    return new UsageError(`cannot read ${input.name}: gzip data is truncated or corrupt (${err.message})`);
  }
  if (typeof code === 'string' && /^(CSV_|INVALID_)/.test(code)) {
    return new UsageError(`cannot read ${input.name}: ${err.message.replace(/\s+/g, ' ')}`);
  }
  return cannotRead(input.name, err);
}
