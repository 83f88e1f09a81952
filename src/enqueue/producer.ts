import type { DeadLetter, SourceRecord } from '../../schemas/dead-letter.js';
import {
  csvValues,
  type RawRow,
  type Rejection,
  type RowBatches,
  type UserRecord,
} from '../../schemas/record.js';
import type { OutgoingJobData, TrackJobData } from '../../schemas/track.js';
import { PackedLines } from '../chunk/packed-lines.js';
import type { Counts } from '../runs/store.js';
import { createIdCollisionTracker, type IdCollisionReport } from '../validate/index.js';
import { createBodySlabs } from './body-slabs.js';

/** The chunk shape the chunker emits (see src/chunk). */
export interface ChunkLike {
  index: number;
  lane: number;
  seq: number;
  needs: number;
  /** Objects in the body, and what Braze bills for them (rows of a user folded into one object cost what it costs). */
  objects: number;
  dataPoints: number;
  lines: TrackJobData['lines'];
  bytes: number;
  /** The body as JSON text, as the chunker built it. */
  json: string;
}

export interface ChunkerLike {
  push(record: UserRecord): ChunkLike[];
  flush(): ChunkLike[];
}

/** Where the producer puts things; Redis and BullMQ in production, arrays in a dry run or a test. */
/**
 * A job to add, with the request body kept beside it: as UTF-8 bytes, outside the V8 heap. A batch
 * lives through a few flushes' round trips, long enough for body strings to be promoted and fill the
 * old generation (at a heap growing factor of 1.25 the producer ran 69 full GCs per 1M rows with
 * strings, 51 with bytes). The bytes are a view into a reused slab (body-slabs.ts): valid until
 * the sink's enqueue resolves.
 */
export interface QueuedChunk {
  /** Its lines packed while it waits (src/chunk/packed-lines.ts); JSON.stringify writes it as TrackJobData. */
  data: OutgoingJobData;
  body: Buffer;
}

export interface ProducerSink {
  /** Resolves when there is room for `bytes` more of queued chunks (the backlog bound). */
  room(bytes: number): Promise<void>;
  /**
   * Adds the jobs, counting each as open (jobsOpen) before it exists and only once ever, and skipping
   * jobs already settled (a resumed run). Each job's body is kept beside it (not in its data).
   * `bytes`: the chunks' JSON size, as the chunker measured it. A body's bytes may be overwritten
   * once this resolves: a sink that keeps one longer copies it.
   */
  enqueue(jobs: QueuedChunk[], bytes: number): Promise<void>;
  /** One batch's counts and rejected rows, recorded together and exactly once. */
  batch(deltas: Partial<Counts>, letters: DeadLetter[]): Promise<void>;
}

export interface ProduceOptions {
  runId: string;
  /** The input's rows, a batch at a time. */
  rows: RowBatches;
  validate: (row: RawRow) => UserRecord | Rejection;
  chunker: ChunkerLike;
  /** Filled by the chunker's onReject (a record too large for any request body); drained here. */
  chunkRejects?: Rejection[];
  sink: ProducerSink;
  /** The CSV header, to keep a ragged row's cells under their column names in its dead letter. */
  header?: () => readonly string[] | undefined;
  /** Chunks per enqueue call (fewer if their bodies pass 512 KB); see produce(). */
  batchSize?: number;
  /**
   * Chunks per queued job (the sink's groupSize; default 1). A group is handed to the sink whole, in
   * one call: the chunks of a group not yet complete wait for the next batch. When reading stops
   * early, an incomplete last group is not queued (its objects are not attempted, like the open
   * chunks): a resume rebuilds it whole, under the same job id.
   */
  groupSize?: number;
  /**
   * Records to send once the input is read to its end (a mirror sync's unsets, src/sync): chunked
   * after the rows, not counted as rows read.
   */
  tail?: () => AsyncIterable<UserRecord>;
  /** Checked between rows: when it turns true the producer stops reading (graceful shutdown). */
  stopped?: () => boolean;
  /** Bytes of the input read so far (before decompression), recorded with each batch for progress. */
  bytesRead?: () => number;
  now?: () => number;
}

export interface ProduceResult {
  rowsRead: number;
  rowsValid: number;
  rowsRejected: number;
  chunks: number;
  objects: number;
  dataPoints: number;
  /** True when stopped() ended reading before the end of the input. */
  stoppedEarly: boolean;
  /** Objects of the chunks still open when reading stopped early: counted, never queued. */
  notQueued: number;
  /** external_ids that differ from an earlier one only by Unicode form, spaces, case... */
  idCollisions: IdCollisionReport;
  /** Time reading stood still waiting for the previous batch to reach Redis (diagnostics). */
  flushWaitMs: number;
}

/** A batch taken from the producer: what one flush records and enqueues. */
interface Batch {
  jobs: QueuedChunk[];
  bytes: number;
  objects: number;
  letters: DeadLetter[];
  delta: { rowsRead: number; rowsValid: number; rowsRejected: number; dataPoints: number; bytesRead: number };
}

/** Flush when this many bytes of chunk bodies are pending, even if fewer than batchSize chunks. */
const BATCH_BYTES = 512 * 1024;
/**
 * Flushes under way at once. Each is a few round trips to a Redis that also serves the workers; on a
 * busy 2-core machine one at a time left reading idle for ~30% of a run (measured: 4 s of 13).
 */
const MAX_IN_FLIGHT = 3;

/**
 * read -> validate -> chunk -> enqueue, one row at a time. Counters and dead letters are flushed with
 * every batch so a status reader sees progress, and jobsOpen is counted before the jobs exist so a
 * fast worker can never see the run as finished while chunks are still being added.
 *
 * Up to MAX_IN_FLIGHT flushes are under way while reading goes on, so Redis round trips overlap with
 * parsing; their commands reach Redis in order on one connection. Batches are small and hold only
 * the jobs (body text and lines), so they die young instead of filling the old generation.
 */
export async function produce(o: ProduceOptions): Promise<ProduceResult> {
  const batchSize = o.batchSize ?? 16;
  const groupSize = Math.max(1, o.groupSize ?? 1);
  /** The chunks at the end of a batch whose group is not complete yet (batches start on a group). */
  const incomplete = (jobs: QueuedChunk[]): number =>
    groupSize === 1 || jobs.length === 0 ? 0 : (jobs[jobs.length - 1]!.data.chunk + 1) % groupSize;
  /** Takes the chunks of an incomplete last group out of a batch's jobs and bytes (its objects stay). */
  const takeIncomplete = (b: Batch): QueuedChunk[] => {
    const tail = b.jobs.splice(b.jobs.length - incomplete(b.jobs));
    for (const job of tail) b.bytes -= job.data.bytes ?? 0;
    return tail;
  };
  const now = o.now ?? Date.now;
  const total: Omit<ProduceResult, 'idCollisions'> = {
    rowsRead: 0,
    rowsValid: 0,
    rowsRejected: 0,
    chunks: 0,
    objects: 0,
    dataPoints: 0,
    stoppedEarly: false,
    notQueued: 0,
    flushWaitMs: 0,
  };
  const ids = createIdCollisionTracker();
  const slabs = createBodySlabs();
  let bytesSeen = 0;
  const emptyBatch = (): Batch => ({
    jobs: [],
    bytes: 0,
    objects: 0,
    letters: [],
    delta: { rowsRead: 0, rowsValid: 0, rowsRejected: 0, dataPoints: 0, bytesRead: 0 },
  });
  let batch = emptyBatch();
  /** Flushes started: the first goes as soon as one group is whole, so the first request leaves early. */
  let flushes = 0;
  const inFlight: Promise<void>[] = [];

  const send = async (b: Batch): Promise<void> => {
    if (b.jobs.length > 0) {
      await o.sink.room(b.bytes);
      // deadLetters is counted by the store, once per rejected line (see producer-batch.ts).
      const counts = { ...b.delta, chunks: b.jobs.length, objects: b.objects };
      await o.sink.batch(counts, b.letters);
      await o.sink.enqueue(b.jobs, b.bytes);
      for (const job of b.jobs) slabs.release(job.body);
      total.chunks += b.jobs.length;
      total.objects += b.objects;
    } else if (b.delta.rowsRead > 0 || b.letters.length > 0 || b.objects > 0 || b.delta.bytesRead > 0) {
      await o.sink.batch({ ...b.delta, objects: b.objects }, b.letters);
    }
  };
  /**
   * Starts a flush of the current batch once fewer than MAX_IN_FLIGHT are under way (errors surface
   * here). The chunks of an incomplete group stay for the next batch, unless `all`.
   */
  const flush = async (all = false): Promise<void> => {
    if (o.bytesRead) {
      const seen = o.bytesRead();
      batch.delta.bytesRead += seen - bytesSeen;
      bytesSeen = seen;
    }
    const started = performance.now();
    while (inFlight.length >= MAX_IN_FLIGHT) await inFlight.shift();
    total.flushWaitMs += performance.now() - started;
    const b = batch;
    batch = emptyBatch();
    for (const job of all ? [] : takeIncomplete(b)) {
      b.objects -= job.data.objects;
      batch.jobs.push(job);
      batch.bytes += job.data.bytes ?? 0;
      batch.objects += job.data.objects;
    }
    flushes++;
    const sending = send(b);
    sending.catch(() => undefined); // handled by whoever awaits it later
    inFlight.push(sending);
    // The first flush is waited for: a reader with rows buffered hands batch after batch over in
    // microtasks, and each of a flush's round trips waited in the socket until it ran dry (about a
    // batch of cold code apiece: the first job reached Redis 100-130 ms after its flush on a 1M-row
    // file, and the first request with it). Later flushes overlap with reading, their replies no
    // hurry (a turn of the event loop per batch for the whole run cost 1.07x the CPU).
    if (flushes === 1) await sending;
  };
  /**
   * Whether enough is pending for a flush: the chunks of complete groups, or dead letters. The first
   * flush takes one group: the sender, ready and waiting, gets its first job after 600 rows instead
   * of 1,200, read while the code is still cold.
   */
  const due = (): boolean => {
    const ready = batch.jobs.length - incomplete(batch.jobs);
    const want = flushes === 0 ? Math.min(batchSize, groupSize) : batchSize;
    return ready >= want || (ready > 0 && batch.bytes >= BATCH_BYTES) || batch.letters.length >= 500;
  };
  /**
   * The last flush. `whole`: the input was read to its end, so an incomplete last group is queued as
   * it is; otherwise its chunks are counted as objects not attempted (a resume queues them).
   */
  const drain = async (whole: boolean): Promise<void> => {
    if (!whole) for (const job of takeIncomplete(batch)) total.notQueued += job.data.objects;
    await flush(true);
    while (inFlight.length > 0) await inFlight.shift();
  };
  const add = (chunk: ChunkLike) => {
    // Billed as Braze bills what is sent: a chunk's body (rows of a user folded into one object
    // cost what that object costs), the same count the emulator's stats make.
    const points = chunk.dataPoints;
    total.dataPoints += points;
    batch.delta.dataPoints += points;
    const job = toJob(o.runId, chunk);
    batch.jobs.push({ data: job, body: slabs.encode(chunk.json, chunk.bytes) });
    batch.bytes += chunk.bytes;
    batch.objects += job.objects;
  };

  /** One row read: counted, validated, and chunked or rejected. */
  const take = (row: RawRow): void => {
    total.rowsRead++;
    batch.delta.rowsRead++;
    const result = o.validate(row);
    if ('code' in result) {
      total.rowsRejected++;
      batch.delta.rowsRejected++;
      batch.letters.push(rejectionLetter(o.runId, row, result, now(), o.header?.()));
    } else {
      total.rowsValid++;
      batch.delta.rowsValid++;
      ids.observe(result.externalId, result.line);
      for (const chunk of o.chunker.push(result)) add(chunk);
      while (o.chunkRejects && o.chunkRejects.length > 0) {
        const r = o.chunkRejects.shift()!;
        total.rowsValid--;
        batch.delta.rowsValid--;
        total.rowsRejected++;
        batch.delta.rowsRejected++;
        batch.letters.push(rejectionLetter(o.runId, row, r, now()));
      }
    }
  };
  try {
    read: for await (const rows of o.rows) {
      for (const row of rows) {
        take(row);
        if (due()) await flush();
        if (o.stopped?.()) {
          total.stoppedEarly = true;
          break read;
        }
      }
    }
  } catch (err) {
    // The input broke mid-way (truncated gzip, unreadable stream): what was read and chunked so far
    // is still queued and counted, then the caller hears why. The open chunk stays unsent.
    await drain(false);
    throw err;
  }
  if (!total.stoppedEarly && o.tail) {
    for await (const rec of o.tail()) {
      for (const chunk of o.chunker.push(rec)) add(chunk);
      if (due()) await flush();
      if (o.stopped?.()) {
        total.stoppedEarly = true;
        break;
      }
    }
  }
  if (!total.stoppedEarly) for (const chunk of o.chunker.flush()) add(chunk);
  else {
    // Rows read and found valid but still in an open chunk when reading stopped: they are counted as
    // objects not attempted (a resume sends them), never left out of every bucket.
    for (const chunk of o.chunker.flush()) total.notQueued += chunk.objects;
    batch.objects += total.notQueued;
    total.objects += total.notQueued;
  }
  await drain(!total.stoppedEarly);
  return { ...total, idCollisions: ids.report() };
}

function toJob(runId: string, c: ChunkLike): OutgoingJobData {
  return {
    v: 2,
    runId,
    chunk: c.index,
    part: '',
    lane: c.lane,
    seq: c.seq,
    needs: c.needs,
    // The body (serialised once, by the chunker) is kept beside the job: BullMQ would escape it into
    // its job data and parse it out again; beside it, it reaches the sender as the bytes to send.
    bytes: c.bytes,
    objects: c.objects,
    // Packed for the round trips the batch waits through; written out as they were (src/chunk/packed-lines.ts).
    lines: PackedLines.of(c.lines),
  };
}

function rejectionLetter(
  runId: string,
  row: RawRow,
  r: Rejection,
  at: number,
  header?: readonly string[],
): DeadLetter {
  return {
    runId,
    source: '',
    line: r.line,
    stage: 'rejected',
    code: r.code,
    message: r.message,
    ...(r.field ? { field: r.field } : {}),
    record: sourceRecord(row, r, header),
    at,
  };
}

function sourceRecord(row: RawRow, r: Rejection, header?: readonly string[]): SourceRecord {
  if (row.kind === 'csv') return { format: 'csv', values: csvValues(row) };
  if (row.kind === 'error' && header && Array.isArray(row.raw)) {
    // A ragged row: its cells under the header's names, surplus cells numbered, so it can be fixed in place.
    const values: Record<string, string> = {};
    row.raw.forEach((cell, i) => {
      values[header[i] ?? `_extra_${i + 1 - header.length}`] = String(cell);
    });
    return { format: 'csv', values };
  }
  if (row.kind === 'jsonl') {
    return row.text === undefined
      ? { format: 'json', value: row.value }
      : { format: 'json', value: row.value, text: row.text };
  }
  return { format: 'json', value: r.record ?? row.raw ?? null };
}
