import { describe, expect, it } from 'vitest';
import { createRateGate, type Slot } from '../../src/send/gate.js';
import { valueHash } from '../../src/sync/hash.js';
import { openRecord, recordBase } from '../../src/sync/record.js';
import { useTestRedis } from '../helpers/redis.js';
import { maxInWindow } from '../helpers/windows.js';

const t = useTestRedis('syncrec');

const fresh = () => openRecord(t.redis(), recordBase(t.prefix(), 'dest', 'default'));

describe('the change record in Redis', () => {
  it('knows users only once Braze accepted them; a second row in one sync is seen as such', async () => {
    const rec = fresh();
    const meta = await rec.meta();
    const mark = await rec.newMark();
    expect(await rec.lookup(['a', 'b'], mark, meta.buckets, true)).toEqual(['new', 'new']);
    expect(await rec.lookup(['a'], mark, meta.buckets, true)).toEqual(['dup']);
    await rec.commit([{ id: 'a', values: [['plan', valueHash('pro')]] }], mark, meta.buckets);
    const after = await rec.meta();
    expect(after.users).toBe(1);
    expect(after.slots.get('plan')).toBe(0);
    const next = await rec.newMark();
    const [a, b] = await rec.lookup(['a', 'b'], next, meta.buckets, true);
    expect(a).toEqual({ mark, slots: [valueHash('pro')] });
    // b was looked up but never accepted: an entry without values (sent in full again).
    expect(b).toEqual({ mark, slots: [] });
  });

  it('gives new names the next slots, and patches only the slots a commit names', async () => {
    const rec = fresh();
    const { buckets } = await rec.meta();
    const m = await rec.newMark();
    await rec.commit(
      [
        {
          id: 'u',
          values: [
            ['x', 1],
            ['y', 2],
          ],
        },
      ],
      m,
      buckets,
    );
    await rec.commit(
      [
        {
          id: 'u',
          values: [
            ['z', 3],
            ['x', 4],
          ],
        },
      ],
      m,
      buckets,
    );
    const meta = await rec.meta();
    expect(Object.fromEntries(meta.slots)).toEqual({ x: 0, y: 1, z: 2 });
    const [u] = await rec.lookup(['u'], await rec.newMark(), buckets, false);
    expect(u).toEqual({ mark: m, slots: [4, 2, 3] });
  });

  it('forgets a user whose every synced attribute was unset, and counts it', async () => {
    const rec = fresh();
    const { buckets } = await rec.meta();
    const m = await rec.newMark();
    await rec.commit([{ id: 'u', values: [['x', valueHash('v')]] }], m, buckets);
    expect((await rec.meta()).users).toBe(1);
    await rec.commit([{ id: 'u', values: [['x', valueHash(null)]] }], m, buckets);
    expect((await rec.meta()).users).toBe(0);
    expect(await rec.lookup(['u'], await rec.newMark(), buckets, false)).toEqual(['new']);
  });

  it('finds the users a snapshot left out, and counts the ones it holds once each', async () => {
    const rec = fresh();
    const { buckets } = await rec.meta();
    const m = await rec.newMark();
    const ids = Array.from({ length: 300 }, (_, i) => `user-${i}`);
    await rec.commit(
      ids.map((id) => ({ id, values: [['x', valueHash(id)]] as Array<[string, number]> })),
      m,
      buckets,
    );
    const seen = await rec.newMark();
    const kept = ids.filter((_, i) => i % 10 !== 0);
    expect(await rec.markSeen([...kept, ...kept.slice(0, 5)], seen, buckets)).toBe(kept.length);
    const missing: string[] = [];
    for await (const { id } of rec.missing(seen, buckets)) missing.push(id);
    expect(missing.sort()).toEqual(ids.filter((_, i) => i % 10 === 0).sort());
  });
});

describe('a backfill keeps to its share of the gate while a sync sends', () => {
  const limits = [{ max: 20, windowMs: 1000 }];

  async function backfillTakes(prefix: string, n: number) {
    const gate = createRateGate(t.redis(), prefix, 'g', limits, 50);
    const got: Slot[] = [];
    for (let i = 0; i < n; i++) got.push(await gate.take({ kind: 'backfill', share: 0.5 }));
    return got;
  }

  it('takes the whole limit when no sync is sending', async () => {
    const got = await backfillTakes(t.prefix(), 20);
    expect(got.filter((s) => s.place >= 0)).toHaveLength(20);
    expect(got[19]!.time - got[0]!.time).toBeLessThan(1000);
  });

  it('takes at most its share of a window while a sync sends, and the sync is not held behind it', async () => {
    const prefix = t.prefix();
    const gate = createRateGate(t.redis(), prefix, 'g', limits, 50);
    const first = await gate.take({ kind: 'sync' });
    const backfill = await backfillTakes(prefix, 20);
    const granted = backfill.filter((s) => s.place >= 0);
    // Half the burst limit; the rest are told to come back once the share frees.
    expect(granted).toHaveLength(10);
    expect(
      maxInWindow(
        granted.map((s) => s.time),
        1000,
      ),
    ).toBeLessThanOrEqual(10);
    const refused = backfill.find((s) => s.place < 0)!;
    expect(refused.time - refused.now).toBeGreaterThan(1000);
    // The sync still finds the other half of the window at once.
    const sync: Slot[] = [];
    for (let i = 0; i < 9; i++) sync.push(await gate.take({ kind: 'sync' }));
    expect(sync.every((s) => s.place >= 0 && s.time - s.now < 100)).toBe(true);
    const all = [first, ...granted, ...sync].map((s) => s.time);
    expect(all).toHaveLength(20);
    expect(maxInWindow(all, 1000)).toBeLessThanOrEqual(20);
  });
});
