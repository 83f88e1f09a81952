import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Rejection, UserRecord } from '../../schemas/record.js';
import { type Chunk, type ChunkerOptions, createChunker } from '../../src/chunk/index.js';
import { makeEvents, makeUserRecord } from '../helpers/factories.js';

function chunkAll(records: UserRecord[], options: ChunkerOptions = {}): Chunk[] {
  const chunker = createChunker(options);
  const out: Chunk[] = [];
  for (const r of records) out.push(...chunker.push(r));
  out.push(...chunker.flush());
  return out;
}

const users = (n: number, from = 0) =>
  Array.from({ length: n }, (_, i) => makeUserRecord({ line: from + i + 2, externalId: `u${from + i}` }));
const objects = (c: Chunk) =>
  (c.body.attributes?.length ?? 0) + (c.body.events?.length ?? 0) + (c.body.purchases?.length ?? 0);
const exactBytes = (c: Chunk) => Buffer.byteLength(JSON.stringify(c.body), 'utf8');

describe('createChunker', () => {
  it('builds Braze objects with external_id added, and tracks source lines', () => {
    const record = makeUserRecord({
      line: 9,
      externalId: 'u1',
      attributes: { plan: 'pro' },
      events: [{ name: 'signup', time: '2024-05-01' }],
      purchases: [{ product_id: 'p', currency: 'USD', price: 1, quantity: 1, time: '2024-05-01' }],
    });
    const [chunk] = chunkAll([record]);
    expect(chunk!.json).toBe(JSON.stringify(chunk!.body));
    expect({ ...chunk, body: chunk!.body }).toEqual({
      json: expect.any(String),
      index: 0,
      lane: 0,
      seq: 0,
      needs: -1,
      objects: 3,
      dataPoints: 3,
      body: {
        attributes: [{ external_id: 'u1', plan: 'pro' }],
        events: [{ external_id: 'u1', name: 'signup', time: '2024-05-01' }],
        purchases: [
          { external_id: 'u1', product_id: 'p', currency: 'USD', price: 1, quantity: 1, time: '2024-05-01' },
        ],
      },
      lines: { attributes: [[9]], events: [9], purchases: [9] },
      rows: 1,
      bytes: exactBytes(chunk!),
    });
  });

  it('caps a chunk at 75 objects across attributes, events and purchases', () => {
    const records = users(200).map((r, i) => (i % 2 ? { ...r, events: makeEvents(1) } : r));
    const chunks = chunkAll(records);
    for (const c of chunks) expect(objects(c)).toBeLessThanOrEqual(75);
    expect(chunks.slice(0, -1).every((c) => objects(c) >= 74)).toBe(true);
    expect(chunks.reduce((n, c) => n + objects(c), 0)).toBe(300);
  });

  it('with legacyPerArray allows 75 per array', () => {
    const records = users(150).map((r) => ({ ...r, events: makeEvents(1) }));
    const chunks = chunkAll(records, { legacyPerArray: true });
    expect(chunks.map((c) => [c.body.attributes?.length, c.body.events?.length])).toEqual([
      [75, 75],
      [75, 75],
    ]);
  });

  it('keeps each body under maxBytes and reports the exact size', () => {
    const records = users(500).map((r) => ({ ...r, attributes: { bio: 'x'.repeat(200), n: r.line } }));
    const chunks = chunkAll(records, { maxBytes: 10_000 });
    expect(chunks.length).toBeGreaterThan(10);
    for (const c of chunks) {
      expect(c.bytes).toBe(exactBytes(c));
      expect(c.bytes).toBeLessThanOrEqual(10_000);
    }
    expect(chunks.reduce((n, c) => n + c.rows, 0)).toBe(500);
  });

  it('fills a body as far as exact sizes allow, though its cheap size bounds say less', () => {
    const records = users(40).map((r) => ({ ...r, attributes: { bio: 'Zoë "x"\t'.repeat(20), n: r.line } }));
    const body = (n: number) => ({
      attributes: records.slice(0, n).map((r) => ({ external_id: r.externalId, ...r.attributes })),
    });
    const limit = Buffer.byteLength(JSON.stringify(body(30)), 'utf8');
    const chunks = chunkAll(records, { maxBytes: limit });
    expect(chunks.map(objects)).toEqual([30, 10]);
    expect(chunks[0]!.bytes).toBe(limit);
    // A merge that would push the body one byte over starts a new chunk instead.
    const again = { ...records[0]!, line: 99, attributes: { extra: 'y' } };
    const merged = chunkAll([...records.slice(0, 30), again], { maxBytes: limit });
    expect(merged.map(objects)).toEqual([30, 1]);
    for (const c of merged) expect(c.bytes).toBeLessThanOrEqual(limit);
  });

  it('merges rows of the same external_id in one chunk, later values winning, remembering every line', () => {
    const chunks = chunkAll([
      makeUserRecord({ line: 2, externalId: 'u1', attributes: { a: 1, b: 1 } }),
      makeUserRecord({ line: 3, externalId: 'u2', attributes: { a: 2 } }),
      makeUserRecord({ line: 4, externalId: 'u1', attributes: { b: 2, c: null }, events: makeEvents(1) }),
      makeUserRecord({
        line: 5,
        externalId: 'u1',
        attributes: undefined,
        events: [{ name: 'x', time: '2024-01-01' }],
      }),
    ]);
    expect(chunks).toHaveLength(1);
    const [c] = chunks;
    expect(c?.body.attributes).toEqual([
      { external_id: 'u1', a: 1, b: 2, c: null },
      { external_id: 'u2', a: 2 },
    ]);
    expect(c?.body.events?.map((e) => e['name'])).toEqual(['e0', 'x']);
    expect(c?.lines).toEqual({ attributes: [[2, 4], [3]], events: [4, 5], purchases: [] });
    expect(c?.rows).toBe(4);
    expect(c?.bytes).toBe(exactBytes(c!));
  });

  it('folds a row into the object of its user in a full chunk instead of closing it', () => {
    // Three objects fill the chunk; u1's second row folds into u1's object there instead of closing
    // it, and u10 (an id that begins like u1's) starts the next chunk.
    const rows = [
      makeUserRecord({ line: 2, externalId: 'u1', attributes: { a: 1 } }),
      makeUserRecord({ line: 3, externalId: 'u2', attributes: { a: 2 } }),
      makeUserRecord({ line: 4, externalId: 'u3', attributes: { a: 3 } }),
      makeUserRecord({ line: 5, externalId: 'u1', attributes: { b: 1 } }),
      makeUserRecord({ line: 6, externalId: 'u10', attributes: { a: 4 } }),
    ];
    const chunks = chunkAll(rows, { maxObjects: 3 });
    expect(chunks.map((c) => c.lines.attributes)).toEqual([[[2, 5], [3], [4]], [[6]]]);
    expect(chunks[0]?.body.attributes?.[0]).toEqual({ external_id: 'u1', a: 1, b: 1 });
  });

  it('splits a record with 200 events across chunks, attributes in the first', () => {
    const big = makeUserRecord({ line: 3, externalId: 'big', events: makeEvents(200) });
    const chunks = chunkAll([makeUserRecord({ line: 2, externalId: 'small' }), big]);
    expect(chunks.map((c) => [c.body.attributes?.map((a) => a.external_id), c.body.events?.length])).toEqual([
      [['small'], undefined],
      [['big'], 74],
      [undefined, 75],
      [undefined, 51],
    ]);
    expect(chunks.map((c) => c.index)).toEqual([0, 1, 2, 3]);
    expect(chunks.slice(1).every((c) => c.lines.events.every((l) => l === 3))).toBe(true);
    expect(chunks.map((c) => c.rows)).toEqual([1, 1, 1, 1]);
  });

  it('keeps a record whole by starting a new chunk when it fits in an empty one', () => {
    const chunks = chunkAll([
      ...users(70),
      makeUserRecord({ line: 100, externalId: 'x', events: makeEvents(10) }),
    ]);
    expect(chunks.map(objects)).toEqual([70, 11]);
  });

  it('rejects a record whose single object cannot fit any body, through onReject', () => {
    const rejected: Rejection[] = [];
    const huge = makeUserRecord({
      line: 7,
      externalId: 'huge',
      events: [{ name: 'e', time: '2024-01-01', properties: { p: 'x'.repeat(5000) } }],
    });
    const chunks = chunkAll([users(1)[0]!, huge, users(1, 1)[0]!], {
      maxBytes: 4000,
      onReject: (r) => rejected.push(r),
    });
    expect(rejected).toEqual([
      expect.objectContaining({
        line: 7,
        code: 'object_too_large',
        field: 'events[0]',
        externalId: 'huge',
        record: huge,
      }),
    ]);
    expect(chunks.flatMap((c) => c.lines.attributes.flat())).toEqual([2, 3]);
    expect(() => chunkAll([huge], { maxBytes: 4000 })).toThrow(/line 7: events\[0\] is \d+ bytes/);
  });

  it('is deterministic: the same input gives the same chunks and indexes', () => {
    const records = users(400).map((r, i) => ({ ...r, externalId: `u${i % 90}`, events: makeEvents(i % 3) }));
    const a = chunkAll(records);
    const b = chunkAll(records);
    expect(a).toEqual(b);
    expect(a.map((c) => c.index)).toEqual(a.map((_, i) => i));
  });

  it('returns nothing from flush when empty', () => {
    const chunker = createChunker();
    expect(chunker.flush()).toEqual([]);
    expect(chunker.push(makeUserRecord())).toEqual([]);
    expect(chunker.flush()).toHaveLength(1);
    expect(chunker.flush()).toEqual([]);
  });
});

describe('chunk JSON text', () => {
  it.each([
    ['ascii', 'plain text'],
    ['quotes and backslashes', 'say "hi" \\ bye'],
    ['control characters', 'tab\there\u0001'],
    ['multi-byte', 'Zoë São Köln 😀'],
    ['numbers', [0, 7, 123456789012345, 1e15, -3, 0.1, 1.5e-7, 2648.61, 1e21]],
    ['nested', { city: 'Köln', geo: [50.9, 6.9], n: null, e: [] }],
  ])('is JSON.stringify(body) with its exact UTF-8 size, for %s', (_, value) => {
    const chunker = createChunker();
    chunker.push(makeUserRecord({ externalId: 'a', attributes: { v: value } }));
    chunker.push(makeUserRecord({ externalId: 'a', line: 3, attributes: { w: value } })); // a merge
    chunker.push(makeUserRecord({ externalId: 'b', line: 4, attributes: { v: value } }));
    const [chunk] = chunker.flush();
    expect(chunk!.json).toBe(JSON.stringify(chunk!.body));
    expect(chunk!.bytes).toBe(Buffer.byteLength(chunk!.json, 'utf8'));
  });
});

describe('lanes: a user in one lane, its rows in file order', () => {
  const ops = (n: number, reps: number) =>
    Array.from({ length: n * reps }, (_, i) =>
      makeUserRecord({
        line: i + 2,
        externalId: `u${Math.floor(i / reps)}`,
        attributes: { visits: { inc: 1 } },
      }),
    );

  it('keeps each user in one lane, and each lane numbers its chunks in file order', () => {
    const chunks = chunkAll(users(5000), { lanes: 16 });
    const laneOfUser = new Map<string, number>();
    for (const c of chunks) {
      for (const a of c.body.attributes ?? []) {
        expect(laneOfUser.get(a.external_id) ?? c.lane).toBe(c.lane);
        laneOfUser.set(a.external_id, c.lane);
      }
    }
    expect(new Set(laneOfUser.values()).size).toBe(16);
    for (let lane = 0; lane < 16; lane++) {
      const mine = chunks.filter((c) => c.lane === lane);
      expect(mine.map((c) => c.seq)).toEqual(mine.map((_, i) => i));
      const firstLines = mine.map((c) => c.lines.attributes[0]![0]!);
      expect(firstLines).toEqual([...firstLines].sort((a, b) => a - b));
    }
    expect(chunks.reduce((n, c) => n + objects(c), 0)).toBe(5000);
  });

  it('never merges operations: ten inc rows of a user are ten objects, each in the next chunk of its lane', () => {
    const chunks = chunkAll(ops(50, 10), { lanes: 4 });
    expect(chunks.reduce((n, c) => n + objects(c), 0)).toBe(500);
    for (let u = 0; u < 50; u++) {
      const holding = chunks.filter((c) => c.body.attributes?.some((a) => a.external_id === `u${u}`));
      expect(holding).toHaveLength(10);
      // Each waits for the one before it in its lane.
      for (let i = 1; i < holding.length; i++) {
        expect(holding[i]!.lane).toBe(holding[0]!.lane);
        expect(holding[i]!.seq).toBeGreaterThan(holding[i - 1]!.seq);
        expect(holding[i]!.needs).toBeGreaterThanOrEqual(holding[i - 1]!.seq);
      }
    }
  });

  it('a chunk with no user in common with recent ones waits only for the one window + 1 places back', () => {
    const chunks = chunkAll(users(75 * 12), { lanes: 1, window: 4 });
    expect(chunks.map((c) => c.needs)).toEqual([-1, -1, -1, -1, -1, 0, 1, 2, 3, 4, 5, 6]);
  });

  it('a user seen again beyond the window is covered by the window rule', () => {
    const rows = [...users(75 * 6), makeUserRecord({ line: 999, externalId: 'u0', attributes: { a: 1 } })];
    const chunks = chunkAll(rows, { lanes: 1, window: 2 });
    const last = chunks.at(-1)!;
    // u0 was in seq 0; the last chunk (seq 6) needs seq <= 3 finished, which includes seq 0.
    expect(last.seq).toBe(6);
    expect(last.needs).toBe(3);
  });

  it('plain values of one user still fold into one object, in one request', () => {
    const rows = [
      makeUserRecord({ line: 2, externalId: 'a', attributes: { x: 1, y: 1 } }),
      makeUserRecord({ line: 3, externalId: 'a', attributes: { y: 2, z: 3 } }),
    ];
    const chunks = chunkAll(rows, { lanes: 8 });
    expect(chunks).toHaveLength(1);
    expect(chunks[0]!.body.attributes).toEqual([{ external_id: 'a', x: 1, y: 2, z: 3 }]);
  });

  /**
   * The plain rule, from the chunks alone: a chunk waits for the newest earlier chunk of its lane that
   * holds one of its users, and at least for the one `window + 1` places back.
   */
  function referenceNeeds(chunks: Chunk[], window: number): number[] {
    const usersOf = (c: Chunk) =>
      new Set(
        [...(c.body.attributes ?? []), ...(c.body.events ?? []), ...(c.body.purchases ?? [])].map(
          (o) => o.external_id,
        ),
      );
    return chunks.map((c) => {
      const mine = usersOf(c);
      let needs = Math.max(c.seq - window - 1, -1);
      for (const d of chunks) {
        if (d.lane !== c.lane || d.seq >= c.seq || d.seq <= needs) continue;
        if ([...usersOf(d)].some((u) => mine.has(u))) needs = d.seq;
      }
      return needs;
    });
  }

  it('gives every chunk the needs of the plain rule (property, against the chunks themselves)', () => {
    const record = fc.record({
      user: fc.integer({ min: 0, max: 30 }),
      op: fc.constantFrom('set', 'inc', 'events', 'both'),
      events: fc.integer({ min: 1, max: 3 }),
    });
    fc.assert(
      fc.property(
        fc.array(record, { maxLength: 300 }),
        fc.integer({ min: 1, max: 4 }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: 1, max: 6 }),
        (rows, lanes, window, maxObjects) => {
          const records = rows.map((r, i) =>
            makeUserRecord({
              line: i + 2,
              externalId: `u${r.user}`,
              attributes: r.op === 'events' ? undefined : r.op === 'inc' ? { n: { inc: 1 } } : { a: i },
              events: r.op === 'events' || r.op === 'both' ? makeEvents(r.events) : undefined,
            }),
          );
          const chunks = chunkAll(records, { lanes, window, maxObjects });
          expect(chunks.map((c) => c.needs)).toEqual(referenceNeeds(chunks, window));
        },
      ),
      { numRuns: 300 },
    );
  });

  it('is deterministic across runs, lanes included', () => {
    const rows = ops(30, 3).concat(users(900, 100));
    expect(chunkAll(rows, { lanes: 8 })).toEqual(chunkAll(rows, { lanes: 8 }));
  });
});
