import type { DeadLetter, SourceRecord } from '../../schemas/dead-letter.js';
import type { RawRow, Rejection, UserRecord } from '../../schemas/record.js';
import type { TrackBody, TrackJobData } from '../../schemas/track.js';
import type { Counts } from '../runs/store.js';

/** The chunk shape the chunker emits (see src/chunk). */
export interface ChunkLike {
  index: number;
  body: TrackBody;
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
export interface ProducerSink {
  /** Resolves when there is room for `bytes` more of queued chunks (the backlog bound). */
  room(bytes: number): Promise<void>;
  /**
   * Adds the jobs, counting each as open (jobsOpen) before it exists and only once ever, and skipping
   * jobs already settled (a resumed run). `bytes`: the chunks' JSON size, as the chunker measured it.
   */
  enqueue(jobs: TrackJobData[], bytes: number): Promise<void>;
  /** One batch's counts and rejected rows, recorded together and exactly once. */
  batch(deltas: Partial<Counts>, letters: DeadLetter[]): Promise<void>;
}

export interface ProduceOptions {
  runId: string;
  rows: AsyncIterable<RawRow>;
  validate: (row: RawRow) => UserRecord | Rejection;
  chunker: ChunkerLike;
  /** Filled by the chunker's onReject (a record too large for any request body); drained here. */
  chunkRejects?: Rejection[];
  sink: ProducerSink;
  estimateDataPoints?: (record: UserRecord) => number;
  /** The CSV header, to keep a ragged row's cells under their column names in its dead letter. */
  header?: () => readonly string[] | undefined;
  /** Chunks per enqueue call: 50 is the measured sweet spot for ~20 KB jobs. */
  batchSize?: number;
  /** Checked between rows: when it turns true the producer stops reading (graceful shutdown). */
  stopped?: () => boolean;
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
}

/**
 * read -> validate -> chunk -> enqueue, one row at a time. Counters and dead letters are flushed with
 * every batch so a status reader sees progress, and jobsOpen is counted before the jobs exist so a
 * fast worker can never see the run as finished while chunks are still being added.
 */
export async function produce(o: ProduceOptions): Promise<ProduceResult> {
  const batchSize = o.batchSize ?? 50;
  const now = o.now ?? Date.now;
  const total: ProduceResult = {
    rowsRead: 0,
    rowsValid: 0,
    rowsRejected: 0,
    chunks: 0,
    objects: 0,
    dataPoints: 0,
    stoppedEarly: false,
  };
  let pending: ChunkLike[] = [];
  let letters: DeadLetter[] = [];
  let delta = { rowsRead: 0, rowsValid: 0, rowsRejected: 0, dataPoints: 0 };

  const flush = async () => {
    if (pending.length > 0) {
      const jobs = pending.map((c) => toJob(o.runId, c));
      const objects = jobs.reduce((n, j) => n + j.objects, 0);
      const bytes = pending.reduce((n, c) => n + c.bytes, 0);
      await o.sink.room(bytes);
      await o.sink.batch({ ...delta, deadLetters: letters.length, chunks: jobs.length, objects }, letters);
      await o.sink.enqueue(jobs, bytes);
      total.chunks += jobs.length;
      total.objects += objects;
    } else if (delta.rowsRead > 0 || letters.length > 0) {
      await o.sink.batch({ ...delta, deadLetters: letters.length }, letters);
    }
    pending = [];
    letters = [];
    delta = { rowsRead: 0, rowsValid: 0, rowsRejected: 0, dataPoints: 0 };
  };

  try {
    for await (const row of o.rows) {
      total.rowsRead++;
      delta.rowsRead++;
      const result = o.validate(row);
      if ('code' in result) {
        total.rowsRejected++;
        delta.rowsRejected++;
        letters.push(rejectionLetter(o.runId, row, result, now(), o.header?.()));
      } else {
        total.rowsValid++;
        delta.rowsValid++;
        const points = o.estimateDataPoints?.(result) ?? 0;
        total.dataPoints += points;
        delta.dataPoints += points;
        for (const chunk of o.chunker.push(result)) pending.push(chunk);
        while (o.chunkRejects && o.chunkRejects.length > 0) {
          const r = o.chunkRejects.shift()!;
          total.rowsValid--;
          delta.rowsValid--;
          total.rowsRejected++;
          delta.rowsRejected++;
          letters.push(rejectionLetter(o.runId, row, r, now()));
        }
      }
      if (pending.length >= batchSize || letters.length >= 500) await flush();
      if (o.stopped?.()) {
        total.stoppedEarly = true;
        break;
      }
    }
  } catch (err) {
    // The input broke mid-way (truncated gzip, unreadable stream): what was read and chunked so far
    // is still queued and counted, then the caller hears why. The open chunk stays unsent.
    await flush();
    throw err;
  }
  if (!total.stoppedEarly) for (const chunk of o.chunker.flush()) pending.push(chunk);
  await flush();
  return total;
}

function toJob(runId: string, c: ChunkLike): TrackJobData {
  return {
    v: 1,
    runId,
    chunk: c.index,
    part: '',
    // Serialised once, by the chunker; nothing downstream encodes it again.
    body: c.json,
    objects: objectCount(c),
    lines: c.lines,
  };
}

function objectCount(c: ChunkLike): number {
  return (c.body.attributes?.length ?? 0) + (c.body.events?.length ?? 0) + (c.body.purchases?.length ?? 0);
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
  if (row.kind === 'csv') return { format: 'csv', values: row.values };
  if (row.kind === 'error' && header && Array.isArray(row.raw)) {
    // A ragged row: its cells under the header's names, surplus cells numbered, so it can be fixed in place.
    const values: Record<string, string> = {};
    row.raw.forEach((cell, i) => {
      values[header[i] ?? `_extra_${i + 1 - header.length}`] = String(cell);
    });
    return { format: 'csv', values };
  }
  if (row.kind === 'jsonl') return { format: 'json', value: row.value };
  return { format: 'json', value: r.record ?? row.raw ?? null };
}
