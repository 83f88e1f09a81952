import { describe, expect, it } from 'vitest';
import { MAX_ARRAY_LENGTH } from '../../src/emulator/attribute-ops.js';
import { ProfileStore } from '../../src/emulator/store.js';

const NOW = Date.UTC(2025, 0, 1, 12, 0, 0);
const newStore = () => new ProfileStore(() => NOW);
const attrsOf = (s: ProfileStore, id: string) => s.findByExternalId(id)?.attributes;

describe('profile creation rules', () => {
  it('creates on unknown external_id unless _update_existing_only is true', () => {
    const s = newStore();
    expect(s.applyAttributes({ external_id: 'a', x: 1, _update_existing_only: true })).toBe(false);
    expect(s.size).toBe(0);
    expect(s.applyAttributes({ external_id: 'a', x: 1 })).toBe(true);
    expect(s.applyAttributes({ external_id: 'a', x: 2, _update_existing_only: true })).toBe(true);
    expect(attrsOf(s, 'a')).toEqual({ x: 2 });
  });

  it('creates an alias-only profile only with an explicit _update_existing_only: false', () => {
    const s = newStore();
    const user_alias = { alias_name: 'device123', alias_label: 'my_device_identifier' };
    expect(s.applyAttributes({ user_alias, a: 1 })).toBe(false);
    expect(s.appendEvent({ user_alias, name: 'e', time: '2020-01-01' })).toBe(false);
    expect(s.applyAttributes({ user_alias, a: 1, _update_existing_only: false })).toBe(true);
    expect(s.appendEvent({ user_alias, name: 'e', time: '2020-01-01' })).toBe(true);
    const p = s.findByAlias(user_alias);
    expect(p?.external_id).toBeUndefined();
    expect(p?.attributes).toEqual({ a: 1 });
    expect(p?.events).toHaveLength(1);
  });

  it('looks up by email only without a primary id, preferring profiles with an external_id', () => {
    const s = newStore();
    s.applyAttributes({ email: 'Jo@example.com', origin: 'email-only' });
    s.applyAttributes({ external_id: 'jo', email: 'jo@example.com' });
    s.applyAttributes({ email: 'JO@example.com', plan: 'gold' });
    expect(attrsOf(s, 'jo')).toMatchObject({ plan: 'gold' });
    expect(s.size).toBe(2);
    // With a primary id the email is just an attribute: an unknown id makes a new profile.
    s.applyAttributes({ external_id: 'other', email: 'jo@example.com' });
    expect(s.size).toBe(3);
  });

  it('braze_id never creates', () => {
    const s = newStore();
    expect(s.applyAttributes({ braze_id: 'nope', a: 1 })).toBe(false);
    s.applyAttributes({ external_id: 'x' });
    const brazeId = s.findByExternalId('x')?.braze_id ?? '';
    expect(s.applyAttributes({ braze_id: brazeId, a: 1 })).toBe(true);
    expect(attrsOf(s, 'x')).toEqual({ a: 1 });
  });
});

describe('attribute semantics', () => {
  it('null unsets, inc adds, strings are truncated to 255 characters', () => {
    const s = newStore();
    s.applyAttributes({ external_id: 'u', gone: 'x', visits: 2, bio: 'b'.repeat(300), ['k'.repeat(300)]: 1 });
    s.applyAttributes({ external_id: 'u', gone: null, visits: { inc: 3 }, fresh: { inc: -1 } });
    const a = attrsOf(s, 'u') ?? {};
    expect(a).not.toHaveProperty('gone');
    expect(a['visits']).toBe(5);
    expect(a['fresh']).toBe(-1);
    expect(a['bio']).toBe('b'.repeat(255));
    expect(a['k'.repeat(255)]).toBe(1);
  });

  it('array set replaces with unique values; add moves existing values to the end; remove deletes', () => {
    const s = newStore();
    s.applyAttributes({ external_id: 'u', tags: ['a', 'b', 'a', 'c'] });
    expect(attrsOf(s, 'u')?.['tags']).toEqual(['a', 'b', 'c']);
    s.applyAttributes({ external_id: 'u', tags: { add: ['a', 'd'], remove: ['b'] } });
    expect(attrsOf(s, 'u')?.['tags']).toEqual(['c', 'a', 'd']);
    s.applyAttributes({ external_id: 'u', tags: ['z'] });
    expect(attrsOf(s, 'u')?.['tags']).toEqual(['z']);
  });

  it('caps arrays at 500, dropping the oldest first', () => {
    const s = newStore();
    const first = Array.from({ length: MAX_ARRAY_LENGTH }, (_, i) => `v${i}`);
    s.applyAttributes({ external_id: 'u', list: first });
    s.applyAttributes({ external_id: 'u', list: { add: ['new1', 'new2'] } });
    const list = attrsOf(s, 'u')?.['list'] as string[];
    expect(list).toHaveLength(500);
    expect(list.slice(0, 2)).toEqual(['v2', 'v3']);
    expect(list.slice(-2)).toEqual(['new1', 'new2']);
    s.applyAttributes({ external_id: 'u', big: Array.from({ length: 600 }, (_, i) => i) });
    expect(attrsOf(s, 'u')?.['big']).toEqual(Array.from({ length: 500 }, (_, i) => i + 100));
  });

  it('_merge_objects deep-merges nested objects, otherwise replaces them', () => {
    const s = newStore();
    s.applyAttributes({ external_id: 'u', car: { make: 'VW', specs: { doors: 4, color: 'red' } } });
    s.applyAttributes({
      external_id: 'u',
      _merge_objects: true,
      car: { specs: { color: 'blue' }, year: 2020 },
    });
    expect(attrsOf(s, 'u')?.['car']).toEqual({ make: 'VW', year: 2020, specs: { doors: 4, color: 'blue' } });
    s.applyAttributes({ external_id: 'u', car: { make: 'Fiat' } });
    expect(attrsOf(s, 'u')?.['car']).toEqual({ make: 'Fiat' });
  });

  it('applies $add, then $remove, then $update (the latter only with _merge_objects)', () => {
    const s = newStore();
    s.applyAttributes({ external_id: 'u', pets: [{ id: 1, name: 'Rex' }] });
    s.applyAttributes({
      external_id: 'u',
      _merge_objects: true,
      pets: {
        $add: [{ id: 2, name: 'Tom' }],
        $remove: [{ $identifier_key: 'id', $identifier_value: 1 }],
        $update: [{ $identifier_key: 'id', $identifier_value: 2, $new_object: { age: 3 } }],
      },
    });
    expect(attrsOf(s, 'u')?.['pets']).toEqual([{ id: 2, name: 'Tom', age: 3 }]);
  });
});

describe('events and purchases', () => {
  it('appends without de-duplicating and clamps future times to now', () => {
    const s = newStore();
    const event = {
      external_id: 'u',
      name: 'played',
      time: '2024-06-01T10:00:00Z',
      properties: { level: 3 },
    };
    s.appendEvent(event);
    s.appendEvent(event);
    s.appendEvent({ external_id: 'u', name: 'later', time: '2999-01-01T00:00:00Z' });
    const events = s.findByExternalId('u')?.events ?? [];
    expect(events).toHaveLength(3);
    expect(events[0]).toEqual({ name: 'played', time: '2024-06-01T10:00:00.000Z', properties: { level: 3 } });
    expect(events[2]?.time).toBe(new Date(NOW).toISOString());
  });

  it('records purchases with quantity defaulting to 1', () => {
    const s = newStore();
    s.appendPurchase({
      external_id: 'u',
      product_id: 'pen',
      currency: 'usd',
      price: 2.5,
      time: '2020-01-01',
    });
    s.appendPurchase({
      external_id: 'u',
      product_id: 'pen',
      currency: 'USD',
      price: 2.5,
      quantity: 4,
      time: '2020-01-01',
    });
    expect(s.findByExternalId('u')?.purchases.map((p) => [p.currency, p.quantity])).toEqual([
      ['USD', 1],
      ['USD', 4],
    ]);
  });

  it('update-only events for unknown users are dropped', () => {
    const s = newStore();
    expect(
      s.appendEvent({ external_id: 'ghost', name: 'e', time: '2020-01-01', _update_existing_only: true }),
    ).toBe(false);
    expect(s.size).toBe(0);
  });
});
