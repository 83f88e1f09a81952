import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { idHash, RecentUsers } from '../../src/chunk/lane.js';
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

  it('gives what a Map gives, with real hashes and with every hash alike (ids told apart by text)', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 300 }), fc.boolean(), (ops, collide) => {
        const table = new RecentUsers(8);
        const map = new Map<string, number>();
        const hash = (id: string) => (collide ? 7 : idHash(id));
        for (const [kind, user, seq] of ops) {
          const id = `user-${user}`;
          if (kind === 'set') {
            table.set(id, hash(id), seq);
            map.set(id, seq);
          } else if (kind === 'get') {
            expect(table.get(id, hash(id))).toBe(map.get(id) ?? -1);
          } else {
            table.clear();
            map.clear();
          }
        }
        for (const [id, seq] of map) expect(table.get(id, hash(id))).toBe(seq);
      }),
      { ...settings, numRuns: 2000 },
    );
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
