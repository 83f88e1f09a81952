import { describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../schemas/dead-letter.js';
import type { TrackJobData } from '../../schemas/track.js';
import { createChunker } from '../../src/chunk/index.js';
import { type ProduceOptions, produce, type QueuedChunk } from '../../src/enqueue/producer.js';
import type { Counts } from '../../src/runs/store.js';
import { checkSummary, summarize } from '../../src/runs/summary.js';
import { createValidator } from '../../src/validate/index.js';
import { jsonlRows } from '../helpers/import.js';

function memorySink() {
  const jobs: TrackJobData[] = [];
  /** The chunk indexes of each enqueue call. */
  const calls: number[][] = [];
  const letters: DeadLetter[] = [];
  const counts: Partial<Counts> = {};
  let roomAsked = 0;
  return {
    jobs,
    calls,
    letters,
    counts,
    roomAsked: () => roomAsked,
    sink: {
      room: async () => {
        roomAsked++;
      },
      enqueue: async (list: QueuedChunk[]) => {
        calls.push(list.map((c) => c.data.chunk));
        for (const c of list) {
          // The body travels beside the job data, never in it.
          expect(c.data.body).toBeUndefined();
          expect(c.data.bytes).toBe(Buffer.byteLength(c.body));
          // As BullMQ stores it: JSON.stringify writes packed lines out (src/chunk/packed-lines.ts).
          jobs.push(JSON.parse(JSON.stringify(c.data)) as TrackJobData);
        }
      },
      batch: async (d: Partial<Counts>, list: DeadLetter[]) => {
        letters.push(...list);
        for (const [k, v] of Object.entries(d))
          counts[k as keyof Counts] = (counts[k as keyof Counts] ?? 0) + (v ?? 0);
      },
    },
  };
}

const values = [
  ...Array.from({ length: 200 }, (_, i) => ({ external_id: `u${i}`, n: i })),
  { external_id: '' },
  'not an object',
];

describe('produce', () => {
  it('chunks valid rows into deterministic jobs, dead-letters the rest, and counts both', async () => {
    const m = memorySink();
    const r = await produce({
      runId: 'r1',
      rows: jsonlRows(values),
      validate: createValidator({ format: 'jsonl' }),
      chunker: createChunker(),
      sink: m.sink,
      batchSize: 2,
    });
    expect(r).toMatchObject({
      rowsRead: 202,
      rowsValid: 200,
      rowsRejected: 2,
      chunks: 3,
      objects: 200,
      stoppedEarly: false,
    });
    expect(m.jobs.map((j) => `${j.runId}-${j.chunk}${j.part}`)).toEqual(['r1-0', 'r1-1', 'r1-2']);
    expect(m.jobs[0]!.lines.attributes[0]).toEqual([1]);
    expect(m.letters.map((l) => [l.line, l.stage])).toEqual([
      [201, 'rejected'],
      [202, 'rejected'],
    ]);
    expect(m.counts).toMatchObject({
      rowsRead: 202,
      rowsValid: 200,
      rowsRejected: 2,
      chunks: 3,
      objects: 200,
    });
    // The store counts deadLetters itself, once per rejected line (see producer-batch.ts).
    expect(m.counts['deadLetters']).toBeUndefined();
    expect(m.roomAsked()).toBeGreaterThan(0);
  });

  it('stops reading when told to, leaving the rest unread', async () => {
    const m = memorySink();
    let n = 0;
    const r = await produce({
      runId: 'r2',
      rows: jsonlRows(values),
      validate: createValidator({ format: 'jsonl' }),
      chunker: createChunker(),
      sink: m.sink,
      stopped: () => ++n >= 100,
    });
    expect(r.stoppedEarly).toBe(true);
    expect(r.rowsRead).toBe(100);
    expect(m.jobs).toHaveLength(1); // the full chunk of 75; the 25 in the chunker are not attempted
  });

  // 1,000 users, one object each, 10 to a chunk: 100 chunks, and groups of 8 (the last of 4).
  const many = Array.from({ length: 1000 }, (_, i) => ({ external_id: `u${i}`, n: i }));
  const groupOf = (chunk: number) => Math.floor(chunk / 8);
  /** `many` read in groups of 8 chunks of 10 objects, into `sink`. */
  const produceGroups = (sink: ProduceOptions['sink'], o: Partial<ProduceOptions> = {}) =>
    produce({
      runId: 'g',
      rows: jsonlRows(many),
      validate: createValidator({ format: 'jsonl' }),
      chunker: createChunker({ maxObjects: 10 }),
      sink,
      groupSize: 8,
      ...o,
    });

  it('hands each group of chunks to the sink whole, in one call, whatever the batch size', async () => {
    for (const batchSize of [1, 3, 16, 40]) {
      const m = memorySink();
      const r = await produceGroups(m.sink, { batchSize });
      expect(r).toMatchObject({ chunks: 100, objects: 1000, notQueued: 0 });
      expect(m.jobs.map((j) => j.chunk)).toEqual(Array.from({ length: 100 }, (_, i) => i));
      // No group is split over two calls: every call starts a group, and ends one (or the input).
      for (const call of m.calls) {
        expect(call[0]! % 8).toBe(0);
        const last = call[call.length - 1]!;
        expect(last % 8 === 7 || last === 99).toBe(true);
      }
      const groups = new Set(m.calls.flatMap((call) => [...new Set(call.map(groupOf))]));
      expect(groups.size).toBe(13);
      expect(m.counts).toMatchObject({ chunks: 100, objects: 1000 });
    }
  });

  it('hands the first group over as soon as it is whole, then batches of batchSize', async () => {
    const m = memorySink();
    await produceGroups(m.sink, { batchSize: 16 });
    const range = (from: number, n: number) => Array.from({ length: n }, (_, i) => from + i);
    expect(m.calls.slice(0, 3)).toEqual([range(0, 8), range(8, 16), range(24, 16)]);
  });

  it('reads on only once the first flush is done, so the first job is not kept waiting', async () => {
    // Batches that arrive in microtasks only (as from a reader with rows buffered), and a sink whose
    // answers come in a later turn of the event loop (as Redis's do).
    let batchesRead = 0;
    async function* buffered() {
      for await (const rows of jsonlRows(many, 25)) {
        batchesRead++;
        yield rows;
      }
    }
    const nextTurn = () => new Promise((r) => setImmediate(r));
    const firstCalls: number[] = [];
    const m = memorySink();
    await produceGroups(
      {
        ...m.sink,
        room: async () => {
          await nextTurn();
        },
        enqueue: async (list) => {
          firstCalls.push(batchesRead);
          await nextTurn();
          await m.sink.enqueue(list);
        },
      },
      { rows: buffered(), batchSize: 16 },
    );
    // The first group is whole in batch 4 (rows 76-100); it is enqueued before batch 5 is read.
    // Later flushes overlap with reading: the producer only blocks with three under way.
    expect(firstCalls[0]).toBe(4);
    expect(firstCalls[1]).toBeGreaterThan(firstCalls[0]!);
    expect(m.jobs).toHaveLength(100);
  });

  it('leaves an incomplete group unqueued when reading stops early, its objects not attempted', async () => {
    const m = memorySink();
    let n = 0;
    const r = await produceGroups(m.sink, {
      batchSize: 4,
      // 205 rows: chunks 0-19 complete (two whole groups and 4 of the third), 5 rows in the chunker.
      stopped: () => ++n >= 205,
    });
    expect(r.stoppedEarly).toBe(true);
    expect(m.jobs.map((j) => j.chunk)).toEqual(Array.from({ length: 16 }, (_, i) => i));
    expect(r.notQueued).toBe(45);
    // Every object read is counted: 160 queued, 45 not attempted (a resume queues them).
    expect(m.counts).toMatchObject({ chunks: 16, objects: 205, rowsValid: 205 });
  });
});

describe('summary', () => {
  it('adds up and flags a summary that does not', () => {
    const base = {
      runId: 'r',
      status: 'completed_with_errors' as const,
      source: 'f',
      createdAt: 0,
      finishedAt: 5000,
      producerDone: true,
      rowsRead: 10,
      rowsValid: 8,
      rowsRejected: 2,
      chunks: 1,
      objects: 8,
      objectsAccepted: 7,
      objectsFailed: 1,
      jobsOpen: 0,
      possibleDuplicates: 0,
      resumes: 0,
      requestsSent: 1,
      requestsRetried: 0,
      requestsRateLimited: 0,
      deadLetters: 3,
      dataPoints: 16,
      bytesRead: 0,
    };
    const s = summarize(base);
    expect(s.objects).toEqual({ total: 8, sent: 8, accepted: 7, failed: 1, notAttempted: 0 });
    expect(s.durationMs).toBe(5000);
    expect(checkSummary(s)).toEqual([]);
    expect(checkSummary(summarize({ ...base, deadLetters: 2 }))).toEqual([
      'deadLetters != rejected rows + failed objects',
    ]);
  });
});
