import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idHash, idTag, RecentUsers } from '../../src/chunk/lane.js';
import { settings } from '../helpers/property.js';

/** The chunker's table of recent users against a plain Map, on random operations. */
describe('RecentUsers against a Map', () => {
  const op = fc.oneof(
    {
      weight: 6,
      arbitrary: fc.tuple(fc.constant('set' as const), fc.integer({ min: 0, max: 400 }), fc.nat(1000)),
    },
    {
      weight: 6,
      arbitrary: fc.tuple(fc.constant('get' as const), fc.integer({ min: 0, max: 400 }), fc.constant(0)),
    },
    { weight: 1, arbitrary: fc.tuple(fc.constant('clear' as const), fc.constant(0), fc.constant(0)) },
  );

  it('gives what a Map gives, with real hashes and with every idHash alike (ids told apart by idTag)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.boolean(), (ops, collide) => {
        const table = new RecentUsers(8);
        const map = new Map<string, number>();
        const hash = (id: string) => (collide ? 7 : idHash(id));
        for (const [kind, user, seq] of ops) {
          const id = `user-${user}`;
          if (kind === 'set') {
            table.set(hash(id), idTag(id), seq);
            map.set(id, seq);
          } else if (kind === 'get') {
            expect(table.get(hash(id), idTag(id))).toBe(map.get(id) ?? -1);
          } else {
            table.clear();
            map.clear();
          }
        }
        for (const [id, seq] of map) expect(table.get(hash(id), idTag(id))).toBe(seq);
      }),
      { ...settings, numRuns: 2000 },
    );
  });

  it('answers for ids whose two hashes both collide as for one user: the newest seq of either', () => {
    // The chunker sets rising seqs only; a shared entry then never answers older than the truth.
    fc.assert(
      fc.property(fc.array(fc.integer({ min: 0, max: 5 }), { maxLength: 100 }), (users) => {
        const table = new RecentUsers(8);
        let newest = -1;
        users.forEach((user, seq) => {
          // Users 0-2 share both hashes (as if colliding), 3-5 have their own.
          const key = user < 3 ? ([1, 1] as const) : ([idHash(`u${user}`), idTag(`u${user}`)] as const);
          if (user < 3) newest = seq;
          table.set(key[0], key[1], seq);
          if (user < 3) expect(table.get(1, 1)).toBe(newest);
        });
      }),
      settings,
    );
  });

  it('idTag is never 0 (an empty slot) and tells apart ids idHash cannot', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (id) => idTag(id) !== 0),
      settings,
    );
    // Ids with one FNV-1a hash (found by a birthday search over random ids): one lane, two users.
    const pairs = [
      ['id-rb5yts117ka6h', 'id-16310mu13f771z'],
      ['id-zufxec2ynb7h', 'id-1dk30qibopk4r'],
      ['id-u2pf2yk56f9n', 'id-1uhl6wk4k3bkt'],
    ];
    for (const [a, b] of pairs as [string, string][]) {
      expect(idHash(a)).toBe(idHash(b));
      expect(idTag(a)).not.toBe(idTag(b));
    }
  });

  it('keeps lanes as they were: idHash modulo the lane count is the FNV-1a lane', () => {
    // Values from the FNV-1a definition; a resumed run rebuilds its chunks only if these never change.
    expect(idHash('')).toBe(0x811c9dc5);
    expect(idHash('a')).toBe(0xe40c292c);
    // Lanes the previous laneOf gave these ids (64 and 7 lanes), before the hash was shared.
    const lanes = (id: string) => [idHash(id) % 64, idHash(id) % 7];
    expect(['user-2026-0', 'u1', 'Zoë 😀'].map(lanes)).toEqual([
      [22, 2],
      [51, 4],
      [40, 4],
    ]);
  });
});
