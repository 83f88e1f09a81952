import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { setTimeout as sleep } from 'node:timers/promises';
import { gzipSync } from 'node:zlib';
import { afterAll, describe, expect, it } from 'vitest';
import { csvValues, type RawRow } from '../../schemas/record.js';
import { UsageError } from '../../src/errors.js';
import { inBatches, type OpenSourceOptions, openSource, type Source } from '../../src/read/index.js';

const dir = mkdtempSync(join(tmpdir(), 'read-input-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function drain(source: Source): Promise<RawRow[]> {
  const out: RawRow[] = [];
  for await (const row of source) out.push(row);
  return out;
}

async function failure(path: string, options: OpenSourceOptions = {}): Promise<UsageError> {
  try {
    await drain(await openSource(path, options));
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return err as UsageError;
  }
  throw new Error('expected a UsageError');
}

const CSV = 'external_id,email\nu1,a@x.io\nu2,b@x.io\n';
const ids = (rows: RawRow[]) => rows.map((r) => (r.kind === 'csv' ? csvValues(r)['external_id'] : r.kind));

describe('openSource: files, gzip, stdin', () => {
  it('reads a .csv.gz', async () => {
    const source = await openSource(file('users.csv.gz', gzipSync(CSV)));
    expect(source).toMatchObject({ format: 'csv', gzip: true });
    expect(ids(await drain(source))).toEqual(['u1', 'u2']);
  });

  it('detects gzip by its magic bytes, not by the name', async () => {
    const source = await openSource(file('really-gzip.csv', gzipSync(CSV)));
    expect(source.gzip).toBe(true);
    expect(ids(await drain(source))).toEqual(['u1', 'u2']);
  });

  it('does not gunzip a plain file named .gz', async () => {
    const source = await openSource(file('plain.csv.gz', CSV));
    expect(source.gzip).toBe(false);
    expect(ids(await drain(source))).toEqual(['u1', 'u2']);
  });

  it('refuses a truncated gzip file with a clear UsageError before reading any row', async () => {
    const rows = Array.from({ length: 5000 }, (_, i) => `u${i},user${i}@example.com`).join('\n');
    const gz = gzipSync(`external_id,email\n${rows}\n`);
    const path = file('truncated.csv.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    const err = await failure(path);
    expect(err.lines).toEqual([
      expect.stringMatching(/cannot read .*truncated\.csv\.gz: gzip data is truncated or corrupt/),
    ]);
  });

  it('holds a late error for the consumer instead of crashing when nobody is reading yet', async () => {
    const rows = Array.from({ length: 20 }, (_, i) => `u${i},user${i}@example.com`).join('\n');
    const gz = gzipSync(`external_id,email\n${rows}\n`);
    // A file is verified before reading (see the test above); stdin cannot be, so it fails late.
    const source = await openSource('-', { stdin: Readable.from([gz.subarray(0, gz.length - 12)]) });
    await sleep(300); // the stream buffers, hits the truncation and fails while nobody iterates
    const err = await drain(source).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as Error).message).toMatch(/gzip data is truncated or corrupt/);
  });

  it('reports a missing file in one line', async () => {
    const err = await failure(join(dir, 'nope.csv'));
    expect(err.lines).toEqual([
      expect.stringMatching(/^cannot read .*nope\.csv: ENOENT: no such file or directory/),
    ]);
  });

  it('reports a directory in one line', async () => {
    const err = await failure(dir);
    expect(err.lines[0]).toMatch(/^cannot read .*: EISDIR/);
  });

  it('reads stdin ("-") from an injected stream, sniffing the format', async () => {
    const csv = await openSource('-', {
      stdin: Readable.from([Buffer.from('external_id,a\n'), Buffer.from('u1,1\n')]),
    });
    expect(csv.format).toBe('csv');
    expect(ids(await drain(csv))).toEqual(['u1']);
    const jsonl = await openSource('-', { stdin: Readable.from([Buffer.from('\n{"external_id":"u1"}\n')]) });
    expect(jsonl.format).toBe('jsonl');
    expect(await drain(jsonl)).toEqual([
      { line: 2, kind: 'jsonl', value: { external_id: 'u1' }, text: '{"external_id":"u1"}' },
    ]);
  });

  it('sniffs gzipped JSONL on stdin', async () => {
    const stdin = Readable.from([gzipSync('{"external_id":"u1"}\n{"external_id":"u2"}\n')]);
    const source = await openSource('-', { stdin });
    expect(source).toMatchObject({ format: 'jsonl', gzip: true });
    expect((await drain(source)).length).toBe(2);
  });

  it('lets --format override the file name', async () => {
    const source = await openSource(file('export.txt', '{"external_id":"u1"}\n'), { format: 'jsonl' });
    expect(await drain(source)).toEqual([
      { line: 1, kind: 'jsonl', value: { external_id: 'u1' }, text: '{"external_id":"u1"}' },
    ]);
  });

  it('streams: stops reading the file while the consumer does not pull', async () => {
    const row = 'u000000,someone@example.com,Firstname,Lastname,DE,Berlin,1990-01-01,123.45,false\n';
    const header = 'external_id,email,first,last,country,city,dob,spend,vip\n';
    const big = header + row.repeat(250_000); // ~20 MB
    const source = await openSource(file('big.csv', big));
    expect(source.size).toBe(big.length);
    const it = source[Symbol.asyncIterator]();
    for (let i = 0; i < 10; i++) await it.next();
    await sleep(200);
    const paused = source.bytesRead;
    expect(paused).toBeLessThan(4 * 1024 * 1024);
    await sleep(100);
    expect(source.bytesRead).toBe(paused);
    let count = 10;
    for (let r = await it.next(); !r.done; r = await it.next()) count++;
    expect(count).toBe(250_000);
    expect(source.bytesRead).toBe(big.length);
  });

  it('releases the file when the consumer stops early', async () => {
    const source = await openSource(file('early.csv', CSV));
    for await (const _ of source) break;
    expect(source.stream.destroyed).toBe(true);
  });
});

describe('openSource: rows in batches', () => {
  /** Every batch of the source, each checked to hold at least one row. */
  async function batchesOf(source: Source): Promise<RawRow[][]> {
    const out: RawRow[][] = [];
    for await (const batch of source.batches) {
      expect(batch.length).toBeGreaterThan(0);
      out.push([...batch]);
    }
    return out;
  }

  it.each([
    ['users.csv', (i: number) => `u${i},user${i}@example.com`, 'external_id,email\n'],
    ['users.jsonl', (i: number) => JSON.stringify({ external_id: `u${i}` }), ''],
  ])(
    'hands %s on in batches holding the same rows, in order, as reading it row by row',
    async (name, line, head) => {
      // 20,000 rows (~0.5 MB): several 64 KB reads, so several batches.
      const lines = Array.from({ length: 20_000 }, (_, i) => line(i));
      const path = file(`batched-${name}`, `${head}${lines.join('\n')}\n`);
      const batches = await batchesOf(await openSource(path));
      const rows = await drain(await openSource(path));
      expect(rows).toHaveLength(20_000);
      expect(batches.flat()).toEqual(rows);
      expect(batches.length).toBeGreaterThan(1);
      expect(batches.length).toBeLessThan(200);
    },
  );

  it('inBatches groups rows that come one at a time, in order, the last batch short', async () => {
    async function* one(n: number): AsyncGenerator<RawRow> {
      for (let i = 1; i <= n; i++) yield { line: i, kind: 'jsonl', value: i };
    }
    const got: RawRow[][] = [];
    for await (const b of inBatches(one(10), 4)) got.push([...b]);
    expect(got.map((b) => b.map((r) => r.line))).toEqual([
      [1, 2, 3, 4],
      [5, 6, 7, 8],
      [9, 10],
    ]);
    const none: RawRow[][] = [];
    for await (const b of inBatches(one(0), 4)) none.push([...b]);
    expect(none).toEqual([]);
  });
});
