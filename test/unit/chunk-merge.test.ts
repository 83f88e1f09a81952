/**
 * The chunker folds two attribute objects of one user into one only when canMerge says the result is
 * the same; the reference is the emulator's profile store, which applies Braze's rules object by
 * object. Generated objects mix plain values, null, arrays, inc, add/remove, nested objects and the
 * control flags, over the same few keys so that they collide.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { canMerge, merged } from '../../src/chunk/merge.js';
import { ProfileStore } from '../../src/emulator/store.js';

const KEYS = ['a', 'b', 'tags', 'address', 'subscription_groups'];
const scalar = fc.oneof(
  fc.integer({ min: -5, max: 5 }),
  fc.constantFrom('x', 'y', ''),
  fc.boolean(),
  fc.constant(null),
);
const value = fc.oneof(
  scalar,
  fc.array(fc.constantFrom('p', 'q', 'r'), { maxLength: 3 }),
  fc.record({ inc: fc.integer({ min: -3, max: 3 }) }),
  fc.record({ add: fc.array(fc.constantFrom('p', 'q', 'r'), { maxLength: 2 }) }),
  fc.record({ remove: fc.array(fc.constantFrom('p', 'q', 'r'), { maxLength: 2 }) }),
  fc.record({ city: fc.constantFrom('Oslo', 'Lima'), zip: fc.constantFrom('1', '2') }, { requiredKeys: [] }),
  fc.array(
    fc.record({
      subscription_group_id: fc.constantFrom('g1', 'g2'),
      subscription_state: fc.constantFrom('subscribed', 'unsubscribed'),
    }),
    { maxLength: 2 },
  ),
);
const flags = fc.record(
  { _merge_objects: fc.boolean(), _update_existing_only: fc.constant(false) },
  { requiredKeys: [] },
);
const attributes = fc
  .tuple(fc.dictionary(fc.constantFrom(...KEYS), value, { maxKeys: 4 }), flags)
  .map(([attrs, f]) => ({ external_id: 'u1', ...attrs, ...f }) as Record<string, unknown>);

/** The profile after applying these objects in order to a profile that starts as `stored`. */
function profileAfter(stored: Record<string, unknown>, objects: Array<Record<string, unknown>>) {
  const store = new ProfileStore(() => 0);
  store.applyAttributes(stored);
  for (const o of objects) store.applyAttributes(structuredClone(o));
  return store.findByExternalId('u1')?.attributes;
}

describe('canMerge: one object only when it does what the two do in order', () => {
  it('matches the profile store on 20,000 generated triples (stored profile, earlier, later)', () => {
    let folded = 0;
    fc.assert(
      fc.property(attributes, attributes, attributes, (stored, earlier, later) => {
        if (!canMerge(earlier, later)) return;
        folded++;
        expect(profileAfter(stored, [merged(earlier, later)])).toEqual(
          profileAfter(stored, [earlier, later]),
        );
      }),
      { seed: 1101, numRuns: 20_000 },
    );
    // The property is not vacuous: most pairs that can fold are generated and checked.
    expect(folded).toBeGreaterThan(2000);
  });

  it('examples: what folds and what must wait for a later request', () => {
    const u = (o: Record<string, unknown>) => ({ external_id: 'u1', ...o });
    expect(canMerge(u({ a: 1, b: 'x' }), u({ a: 2, c: true }))).toBe(true);
    expect(canMerge(u({ visits: { inc: 1 } }), u({ visits: { inc: 1 } }))).toBe(false);
    expect(canMerge(u({ visits: { inc: 1 } }), u({ visits: 5 }))).toBe(true);
    expect(canMerge(u({ visits: 5 }), u({ visits: { inc: 1 } }))).toBe(false);
    expect(canMerge(u({ tags: { add: ['a'] } }), u({ tags: { add: ['b'] } }))).toBe(false);
    expect(canMerge(u({ tags: { add: ['a'] } }), u({ other: { add: ['b'] } }))).toBe(true);
    const nested = { _merge_objects: true, address: { city: 'Oslo' } };
    expect(canMerge(u(nested), u({ _merge_objects: true, address: { zip: '1' } }))).toBe(false);
    expect(canMerge(u({ address: { city: 'Oslo' } }), u({ address: { zip: '1' } }))).toBe(true);
    expect(canMerge(u({ a: 1 }), u({ a: 2, _update_existing_only: true }))).toBe(false);
    expect(
      canMerge(u({ subscription_groups: [{ subscription_group_id: 'g1' }] }), u({ subscription_groups: [] })),
    ).toBe(false);
  });
});
