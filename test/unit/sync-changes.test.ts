import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { UserRecord } from '../../schemas/record.js';
import { acceptedUsers, acceptedValues, changeOf } from '../../src/sync/changes.js';
import {
  decodeEntry,
  type Entry,
  encodeEntry,
  holdsValues,
  NULL_HASH,
  valueHash,
} from '../../src/sync/hash.js';
import { settings } from '../helpers/property.js';

const rec = (attributes?: Record<string, unknown>, extra: Partial<UserRecord> = {}): UserRecord => ({
  line: 2,
  externalId: 'u1',
  ...(attributes ? { attributes } : {}),
  ...extra,
});

/** The record's entry for values Braze accepted (slots in the order of `names`). */
function entryOf(
  names: string[],
  values: Record<string, unknown>,
): { entry: Entry; slots: Map<string, number> } {
  const slots = new Map(names.map((n, i) => [n, i]));
  const hashes = names.map((n) => (n in values ? valueHash(values[n]) : 0));
  return { entry: { mark: 7, slots: hashes }, slots };
}

describe('what a sync sends of a row', () => {
  const { entry, slots } = entryOf(['plan', 'score', 'tags'], { plan: 'pro', score: 3, tags: ['a'] });

  it('sends a user the record does not know, and a second row of a user, as they are', () => {
    const r = rec({ plan: 'pro', score: 3 });
    expect(changeOf(r, 'new', slots).send).toBe(r);
    expect(changeOf(r, 'dup', slots).send).toBe(r);
  });

  it('sends nothing of an unchanged user, and counts what it saved', () => {
    const c = changeOf(rec({ plan: 'pro', score: 3, tags: ['a'] }), entry, slots);
    expect(c).toEqual({ send: undefined, skipped: 3, saved: 3 });
  });

  it('sends only the attributes that changed, and attributes it never synced', () => {
    const c = changeOf(rec({ plan: 'team', score: 3, city: 'Lima' }), entry, slots);
    expect(c.send?.attributes).toEqual({ plan: 'team', city: 'Lima' });
    expect(c.skipped).toBe(1);
  });

  it('always sends operations, events and purchases; control keys only along with a change', () => {
    const ev = { name: 'login', time: '2026-01-01T00:00:00Z' };
    const c = changeOf(
      rec({ plan: 'pro', score: { inc: 1 }, _update_existing_only: true }, { events: [ev] }),
      entry,
      slots,
    );
    expect(c.send?.attributes).toEqual({ score: { inc: 1 }, _update_existing_only: true });
    const quiet = changeOf(rec({ plan: 'pro', _update_existing_only: true }, { events: [ev] }), entry, slots);
    expect(quiet.send).toEqual({ line: 2, externalId: 'u1', events: [ev] });
  });

  it('--full sends everything', () => {
    const r = rec({ plan: 'pro', score: 3, tags: ['a'] });
    expect(changeOf(r, entry, slots, true).send).toBe(r);
  });

  it('null is a value like any other (an unset attribute stays unset)', () => {
    const e = entryOf(['plan'], { plan: null });
    expect(changeOf(rec({ plan: null }), e.entry, e.slots).send).toBeUndefined();
    expect(changeOf(rec({ plan: 'pro' }), e.entry, e.slots).send?.attributes).toEqual({ plan: 'pro' });
  });
});

describe('what the record takes of an accepted body', () => {
  it('hashes values, empties the slot of an operation, leaves identifiers out', () => {
    expect(acceptedValues({ external_id: 'u', plan: 'pro', n: { inc: 2 }, _merge_objects: true })).toEqual([
      ['plan', valueHash('pro')],
      ['n', 0],
    ]);
  });

  it('leaves out users with a refused attributes object', () => {
    const got = acceptedUsers(
      [
        { external_id: 'a', x: 1 },
        { external_id: 'b', x: 2 },
      ],
      new Set(['b']),
    );
    expect(got.map((u) => u.id)).toEqual(['a']);
  });
});

describe('entries', () => {
  it('round-trip, and hold values only with a slot neither empty nor null', () => {
    const e = { mark: 0xfffffffe, slots: [0, NULL_HASH, valueHash('x')] };
    expect(decodeEntry(encodeEntry(e))).toEqual(e);
    expect(holdsValues(e)).toBe(true);
    expect(holdsValues({ mark: 1, slots: [0, NULL_HASH] })).toBe(false);
  });
});

/**
 * The hashed comparison is a fast path: against a plain reference (an attribute is sent when its
 * JSON differs from the one Braze accepted, or it never was), on generated rows and records.
 */
describe('changeOf against a plain comparison', () => {
  const value = fc.oneof(
    fc.constant(null),
    fc.boolean(),
    fc.integer({ min: -5, max: 5 }),
    fc.constantFrom('a', 'b', 'A', '1', ''),
    fc.array(fc.constantFrom('a', 'b'), { maxLength: 2 }),
    fc.record({ k: fc.constantFrom(1, 2) }),
  );
  const names = ['p', 'q', 'r', 's'];
  const attrs = fc.dictionary(fc.constantFrom(...names), value, { maxKeys: 4 });
  it('sends exactly the attributes whose value differs', () => {
    fc.assert(
      fc.property(attrs, attrs, fc.shuffledSubarray(names), (before, now, known) => {
        const { entry, slots } = entryOf(known, before);
        const c = changeOf(rec(now), entry, slots);
        const expected: Record<string, unknown> = {};
        for (const [k, v] of Object.entries(now)) {
          const had = known.includes(k) && k in before;
          if (!had || JSON.stringify(before[k]) !== JSON.stringify(v)) expected[k] = v;
        }
        if (Object.keys(expected).length === 0) expect(c.send).toBeUndefined();
        else expect(c.send?.attributes).toEqual(expected);
        expect(c.skipped + Object.keys(expected).length).toBe(Object.keys(now).length);
      }),
      settings,
    );
  });
});
