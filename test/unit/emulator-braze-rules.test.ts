import { describe, expect, it } from 'vitest';
import { EmulatorStats } from '../../src/emulator/stats.js';
import { ProfileStore } from '../../src/emulator/store.js';
import { processTrack } from '../../src/emulator/track.js';

/**
 * The emulator as strict as Braze's docs: what Braze drops, ignores or nulls is not stored (and
 * not billed), and what it refuses is a per-object error. Each test says which rule it holds.
 */

function emulator() {
  const store = new ProfileStore(() => Date.UTC(2026, 0, 1));
  const stats = new EmulatorStats();
  const track = (body: unknown) =>
    processTrack(body, { limits: { maxObjects: 75, legacyPerArray: false }, store, stats });
  const attrs = (id: string) => store.findByExternalId(id)?.attributes;
  return { store, stats, track, attrs };
}

const kb = (n: number) =>
  Object.fromEntries(Array.from({ length: n * 4 }, (_, i) => [`k${i}`, 'x'.repeat(240)]));

describe('nested custom attributes', () => {
  it('one invalid nested value drops every nested update of the request, with a 201', () => {
    const { track, attrs, stats } = emulator();
    const res = track({
      attributes: [
        { external_id: 'u1', plan: 'gold', song: { name: 'Solea' } },
        { external_id: 'u2', stays: [{ hotel: 'Ocean', nights: null }], city: 'Lima' },
      ],
    });
    expect(res).toEqual({ status: 201, body: { message: 'success', attributes_processed: 2 } });
    expect(attrs('u1')).toEqual({ plan: 'gold' });
    expect(attrs('u2')).toEqual({ city: 'Lima' });
    expect(stats.nestedDropped).toBe(2);
  });

  it.each([
    ['a bad $time', { born: { $time: '2024-13-01' } }],
    ['a key with $', { $price: 1 }],
    ['a key with .', { 'a.b': 1 }],
    ['a key with a space', { 'a b': 1 }],
    ['a key over 255 characters', { ['k'.repeat(256)]: 1 }],
    ['a string over 255 characters', { s: 'y'.repeat(256) }],
  ])('%s makes the request drop its nested updates', (_what, bad) => {
    const { track, attrs } = emulator();
    track({ attributes: [{ external_id: 'u1', good: { a: 1 }, bad }] });
    expect(attrs('u1')).toEqual({});
  });

  it('valid nested values are stored, $time dates included', () => {
    const { track, attrs } = emulator();
    track({ attributes: [{ external_id: 'u1', dates: { born: { $time: '1980-01-01' } }, song: { a: 1 } }] });
    expect(attrs('u1')).toEqual({ dates: { born: { $time: '1980-01-01' } }, song: { a: 1 } });
  });

  it('a nested object over 100 KB is dropped alone (a 156 KB one used to be stored)', () => {
    const { track, attrs, stats } = emulator();
    track({ attributes: [{ external_id: 'u1', big: kb(156), small: { a: 1 } }] });
    expect(attrs('u1')).toEqual({ small: { a: 1 } });
    expect(stats.nestedDropped).toBe(1);
  });

  it('an $add that would grow an array of objects past 100 KB is dropped; the array stays as it was', () => {
    const { track, attrs, store } = emulator();
    const item = (i: number) => ({ id: i, note: 'n'.repeat(240) });
    track({ attributes: [{ external_id: 'u1', stays: Array.from({ length: 300 }, (_, i) => item(i)) }] });
    track({
      attributes: [{ external_id: 'u1', stays: { $add: Array.from({ length: 200 }, (_, i) => item(i)) } }],
    });
    expect(attrs('u1')?.['stays']).toHaveLength(300);
    expect(store.overCap).toBe(1);
  });
});

describe("Braze's date formats, on a real calendar", () => {
  it('takes ddd MM dd HH:mm:ss.TZD YYYY and +02 zones; refuses 2024-02-31 with a per-object error', () => {
    const { track, store } = emulator();
    const event = (time: string) => ({ external_id: 'u1', name: 'e', time });
    const res = track({
      events: [event('Wed 05 01 10:00:00.+02:00 2024'), event('2024-05-01T10:00+02'), event('2024-02-31')],
    });
    expect(res.body).toMatchObject({
      events_processed: 2,
      errors: [{ index: 2, type: "'time' is not a valid time" }],
    });
    expect(store.findByExternalId('u1')?.events.map((e) => e.time)).toEqual([
      '2024-05-01T08:00:00.000Z',
      '2024-05-01T08:00:00.000Z',
    ]);
  });
});

describe('event and purchase properties size caps', () => {
  const event = (properties: object) => ({ external_id: 'u1', name: 'e', time: '2024-01-01', properties });
  const purchase = (properties: object) => ({
    external_id: 'u1',
    product_id: 'p',
    currency: 'USD',
    price: 1,
    time: '2024-01-01',
    properties,
  });

  it('event properties over 100 KB are refused with a per-object error', () => {
    const { track } = emulator();
    expect(track({ events: [event(kb(110)), event(kb(60))] })).toMatchObject({
      status: 201,
      body: { events_processed: 1, errors: [{ type: "'properties' must be at most 100 KB", index: 0 }] },
    });
  });

  it('purchase properties over 50 KB (60 KB used to be accepted) are refused', () => {
    const { track } = emulator();
    expect(track({ purchases: [purchase(kb(60)), purchase(kb(40))] })).toMatchObject({
      status: 201,
      body: { purchases_processed: 1, errors: [{ type: "'properties' must be at most 50 KB", index: 0 }] },
    });
  });
});

describe('default profile fields', () => {
  it('country: a code or a name is stored as its code; one Braze cannot map becomes null', () => {
    const { track, attrs } = emulator();
    track({
      attributes: [
        { external_id: 'u1', country: 'Australia' },
        { external_id: 'u2', country: 'de' },
        { external_id: 'u3', country: 'FR' },
      ],
    });
    expect([attrs('u1')?.['country'], attrs('u2')?.['country'], attrs('u3')?.['country']]).toEqual([
      'AU',
      'DE',
      'FR',
    ]);
    track({ attributes: [{ external_id: 'u3', country: 'Narnia' }] });
    expect(attrs('u3')).not.toHaveProperty('country');
  });

  it('gender, dob and time_zone values Braze does not take are ignored: the old value stays', () => {
    const { track, attrs, stats } = emulator();
    track({ attributes: [{ external_id: 'u1', gender: 'F', dob: '1980-12-21', time_zone: 'Europe/Paris' }] });
    track({ attributes: [{ external_id: 'u1', gender: 'Female', dob: '12/21/1980', time_zone: 'Paris' }] });
    expect(attrs('u1')).toEqual({ gender: 'F', dob: '1980-12-21', time_zone: 'Europe/Paris' });
    expect(stats.fieldsIgnored).toBe(3);
  });

  it('bad push tokens and subscription groups are per-object errors', () => {
    const { track } = emulator();
    const res = track({
      attributes: [
        { external_id: 'u1', push_tokens: [{ app_id: 'a', token: 't', device_id: 'dev' }] },
        { external_id: 'u2', push_tokens: { app_id: 'a', token: 't' } },
        {
          external_id: 'u3',
          subscription_groups: [{ subscription_group_id: 'g', subscription_state: 'on' }],
        },
        { external_id: 'u4', subscription_groups: ['g'] },
        { external_id: 'u5', push_tokens: [{ app_id: 'a', token: 't', device_id: 'device-0001' }] },
      ],
    });
    expect(res.body).toMatchObject({
      attributes_processed: 1,
      errors: [
        { index: 0, type: expect.stringContaining('BAD_DEVICE_ID') },
        { index: 1, type: expect.stringContaining('push_tokens') },
        { index: 2, type: expect.stringContaining('BAD_SUBSCRIPTION_GROUP_STATE') },
        { index: 3, type: expect.stringContaining('BAD_SUBSCRIPTION_GROUP_HASH') },
      ],
    });
  });
});

describe('data points in /_emulator/stats', () => {
  it('bills what Braze writes: add per value, nested keys, free subscription fields, properties', () => {
    const { track, stats } = emulator();
    track({
      attributes: [
        { external_id: 'u1', tags: { add: ['a', 'b', 'c'] }, plan: null, email_subscribe: 'opted_in' },
        { external_id: 'u2', song: { a: 1, b: 2, c: 3, d: 4 }, gender: 'Female' },
      ],
      events: [{ external_id: 'u1', name: 'e', time: '2024-01-01', properties: { p: 1, q: 2 } }],
      purchases: [
        { external_id: 'u1', product_id: 'p', currency: 'USD', price: 1, quantity: 2, time: '2024-01-01' },
      ],
    });
    // 3 (add) + 1 (null) + 0 (subscription) + 4 (nested keys) + 0 (ignored gender) + 3 (event) + 2 (purchase)
    expect(stats.snapshot().dataPoints).toBe(13);
  });

  it('refused objects and dropped nested updates are not billed', () => {
    const { track, stats } = emulator();
    track({ attributes: [{ plan: 'no id' }, { external_id: 'u1', song: { a: null }, plan: 'gold' }] });
    expect(stats.snapshot().dataPoints).toBe(1);
  });
});
