import { describe, expect, it } from 'vitest';
import { EmulatorStats } from '../../src/emulator/stats.js';
import { ProfileStore } from '../../src/emulator/store.js';
import { processTrack } from '../../src/emulator/track.js';
import {
  checkEnvelope,
  ERR,
  MAX_INPUT_LENGTH_EXCEEDED,
  MAX_OBJECTS_PER_USER_EXCEEDED,
  VALID_DATA_REQUIRED,
  validateAttributes,
  validateEvent,
  validatePurchase,
} from '../../src/emulator/validate.js';

const limits = { maxObjects: 75, legacyPerArray: false };
const track = (body: unknown, l = limits) =>
  processTrack(body, { limits: l, store: new ProfileStore(), stats: new EmulatorStats() });

// Shapes of Braze's documented example bodies (user attributes, event and purchase objects).
const attributesExample = [
  {
    external_id: 'user1',
    first_name: 'Jon',
    has_profile_picture: true,
    dob: '1988-02-14',
    music_videos_favorited: { add: ['calvinharris-summer'], remove: ['nickiminaj-anaconda'] },
  },
  {
    external_id: 'user2',
    first_name: 'Jill',
    push_tokens: [{ app_id: 'app', token: 'abcd', device_id: 'dev-0001' }],
  },
  { user_alias: { alias_name: 'device123', alias_label: 'my_device_identifier' }, first_name: 'Anon' },
];
const eventsExample = [
  { external_id: 'user1', app_id: 'your-app-id', name: 'watched_trailer', time: '2013-07-16T19:20:30+01:00' },
  {
    external_id: 'user1',
    app_id: 'your-app-id',
    name: 'rented_movie',
    time: '2013-07-16T19:20:45+01:00',
    properties: { movie: 'The Sad Egg', director: 'Dan Alexander' },
  },
  {
    user_alias: { alias_name: 'device123', alias_label: 'my_device_identifier' },
    app_id: 'your-app-id',
    name: 'watched_trailer',
    time: '2013-07-16T19:20:50+01:00',
  },
];
const purchasesExample = [
  {
    external_id: 'user1',
    app_id: '11ae5b4b',
    product_id: 'backpack',
    currency: 'USD',
    price: 40.0,
    time: '2013-07-16T19:20:30+01:00',
    properties: {
      color: 'red',
      monogram: 'ABC',
      checkout_duration: 180,
      size: 'Large',
      brand: 'Backpack Locker',
    },
  },
  {
    external_id: 'user1',
    product_id: 'pencil',
    currency: 'USD',
    price: 2.0,
    quantity: 6,
    time: '2013-07-17T19:20:20+01:00',
    properties: { number: 2, sharpened: true },
  },
];

describe('documented example bodies', () => {
  it.each(attributesExample.map((o, i) => [i, o]))('attributes example %i is valid', (_i, o) => {
    expect(validateAttributes(o)).toBeNull();
  });
  it.each(eventsExample.map((o, i) => [i, o]))('event example %i is valid', (_i, o) => {
    expect(validateEvent(o)).toBeNull();
  });
  it.each(purchasesExample.map((o, i) => [i, o]))('purchase example %i is valid', (_i, o) => {
    expect(validatePurchase(o)).toBeNull();
  });

  it('accepts the "update by email" request with all three arrays', () => {
    const res = track({
      attributes: [
        { email: 'test@braze.com', string_attribute: 'fruit', array_attribute: ['banana', 'apple'] },
      ],
      events: [
        {
          email: 'test@braze.com',
          name: 'rented_movie',
          time: '2022-12-06T19:20:45+01:00',
          properties: { cast: [{ name: 'A' }] },
        },
        eventsExample[2],
      ],
      purchases: [
        {
          email: 'test@braze.com',
          product_id: 'p',
          currency: 'USD',
          price: 12.12,
          quantity: 6,
          time: '2017-05-12T18:47:12Z',
        },
      ],
    });
    expect(res).toEqual({
      status: 201,
      body: { message: 'success', attributes_processed: 1, events_processed: 2, purchases_processed: 1 },
    });
  });
});

describe('identifiers', () => {
  it('requires one identifier and allows only one primary', () => {
    expect(validateAttributes({ first_name: 'x' })).toBe(ERR.identifierRequired);
    expect(validateAttributes({ external_id: 'a', braze_id: 'b' })).toBe(ERR.onePrimary);
    expect(validateAttributes({ phone: '+15043277269', age: 3 })).toBeNull();
    expect(validateAttributes({ external_id: 'a', email: 'not-an-email' })).toBe(ERR.email);
    expect(validateAttributes({ user_alias: { alias_name: 'n' } })).toBe(ERR.userAlias);
    expect(validateAttributes({ external_id: 42 })).toBe(ERR.externalIdType);
  });

  it('limits external_id to 987 UTF-8 bytes, not characters', () => {
    expect(validateAttributes({ external_id: 'a'.repeat(987) })).toBeNull();
    expect(validateAttributes({ external_id: 'a'.repeat(988) })).toBe(
      "'external_id' must be fewer than 988 bytes",
    );
    expect(validateAttributes({ external_id: `${'é'.repeat(493)}a` })).toBeNull(); // 987 bytes
    expect(validateAttributes({ external_id: 'é'.repeat(494) })).toBe(ERR.externalIdTooLarge); // 988 bytes
    expect(validateAttributes({ external_id: '😀'.repeat(247) })).toBe(ERR.externalIdTooLarge); // 988 bytes
  });
});

describe('events and purchases', () => {
  const ev = { external_id: 'u', name: 'n', time: '2024-01-01T00:00:00Z' };
  it('needs name and a valid time', () => {
    expect(validateEvent({ external_id: 'u', time: ev.time })).toBe(ERR.name);
    expect(validateEvent({ external_id: 'u', name: 'n' })).toBe(ERR.time);
    expect(validateEvent({ ...ev, time: 'yesterday' })).toBe(ERR.timeInvalid);
    expect(validateEvent({ ...ev, time: '2024-02-30' })).toBe(ERR.timeInvalid);
  });
  it('rejects reserved property names', () => {
    expect(validateEvent({ ...ev, properties: { time: 1 } })).toMatch(/'time' is a reserved/);
    expect(validateEvent({ ...ev, properties: { event_name: 'x' } })).toMatch(/'event_name' is a reserved/);
    expect(validateEvent({ ...ev, properties: { $price: 1 } })).toMatch(/'\$price' is a reserved/);
    expect(validateEvent({ ...ev, properties: [] })).toBe(ERR.properties);
    expect(validateEvent({ ...ev, properties: { price$: 1 } })).toBeNull();
  });
  it('checks purchase fields and quantity 1..100', () => {
    const p = { external_id: 'u', product_id: 'x', currency: 'EUR', price: 1, time: ev.time };
    expect(validatePurchase(p)).toBeNull();
    expect(validatePurchase({ ...p, product_id: undefined })).toBe(ERR.productId);
    expect(validatePurchase({ ...p, currency: 'EURO' })).toBe(ERR.currency);
    expect(validatePurchase({ ...p, price: '1' })).toBe(ERR.price);
    expect(validatePurchase({ ...p, quantity: 100 })).toBeNull();
    for (const quantity of [0, 101, 1.5]) expect(validatePurchase({ ...p, quantity })).toBe(ERR.quantity);
    expect(validatePurchase({ ...p, properties: { $x: 1 } })).toMatch(/reserved/);
  });
});

describe('request envelope', () => {
  const obj = (i: number) => ({ external_id: `u${i}`, a: i });
  const many = (n: number) => Array.from({ length: n }, (_, i) => obj(i));

  it('caps objects across all arrays, or per array in legacy mode', () => {
    expect(checkEnvelope({ attributes: many(40), events: many(35) }, limits)).not.toBeTypeOf('string');
    expect(checkEnvelope({ attributes: many(40), events: many(36) }, limits)).toBe(MAX_INPUT_LENGTH_EXCEEDED);
    const legacy = { maxObjects: 75, legacyPerArray: true };
    expect(
      checkEnvelope({ attributes: many(75), events: many(75), purchases: many(75) }, legacy),
    ).not.toBeTypeOf('string');
    expect(checkEnvelope({ attributes: many(76) }, legacy)).toBe(MAX_INPUT_LENGTH_EXCEEDED);
  });

  it('caps objects per user profile (bulk), by the identifier sent, across the arrays', () => {
    const bulk = { maxObjects: 1000, legacyPerArray: false, maxObjectsPerUser: 3 };
    const of = (o: object, n: number) => Array.from({ length: n }, () => o);
    const u = { external_id: 'u' };
    expect(
      checkEnvelope({ attributes: of(u, 2), events: of(u, 1), purchases: many(50) }, bulk),
    ).not.toBeTypeOf('string');
    expect(checkEnvelope({ attributes: of(u, 2), events: of(u, 2) }, bulk)).toBe(
      MAX_OBJECTS_PER_USER_EXCEEDED,
    );
    // The object cap is checked first; objects without an identifier name no profile.
    expect(checkEnvelope({ attributes: of(u, 1001) }, bulk)).toBe(MAX_INPUT_LENGTH_EXCEEDED);
    expect(checkEnvelope({ attributes: of({ a: 1 }, 10) }, bulk)).not.toBeTypeOf('string');
    // external_id wins over email (as in the store); emails are compared in lower case, phones by digits.
    const mixed = [{ external_id: 'x', email: 'a@b.c' }, { email: 'A@B.C' }, { email: 'a@b.c' }];
    expect(checkEnvelope({ attributes: [...mixed, { email: 'a@B.c' }] }, bulk)).not.toBeTypeOf('string');
    expect(checkEnvelope({ attributes: [...mixed, ...mixed] }, bulk)).toBe(MAX_OBJECTS_PER_USER_EXCEEDED);
    const phones = ['+1 555 0100', '+15550100', '+1-555-0100', '+1 (555) 0100'].map((phone) => ({ phone }));
    expect(checkEnvelope({ events: phones }, bulk)).toBe(MAX_OBJECTS_PER_USER_EXCEEDED);
    // /users/track has no such cap.
    expect(checkEnvelope({ attributes: of(u, 75) }, limits)).not.toBeTypeOf('string');
  });

  it('reports rejected objects by their index in the array as sent', () => {
    const res = track({
      attributes: [obj(0), { a: 1 }, obj(2), { external_id: 'x', braze_id: 'y' }],
      events: [{ external_id: 'u', name: 'n' }],
    });
    expect(res.status).toBe(201);
    expect(res.body).toEqual({
      message: 'success',
      attributes_processed: 2,
      events_processed: 0,
      errors: [
        { type: ERR.identifierRequired, input_array: 'attributes', index: 1 },
        { type: ERR.onePrimary, input_array: 'attributes', index: 3 },
        { type: ERR.time, input_array: 'events', index: 0 },
      ],
    });
  });

  it('answers 400 when nothing is valid or nothing was sent', () => {
    expect(track({ attributes: [{ a: 1 }] })).toEqual({
      status: 400,
      body: {
        message: VALID_DATA_REQUIRED,
        errors: [{ type: ERR.identifierRequired, input_array: 'attributes', index: 0 }],
      },
    });
    expect(track(undefined)).toEqual({ status: 400, body: { message: VALID_DATA_REQUIRED } });
    expect(track({})).toEqual({ status: 400, body: { message: VALID_DATA_REQUIRED, errors: [] } });
    expect(track({ attributes: {} }).status).toBe(400);
  });
});
