import { describe, expect, it } from 'vitest';
import type { UserRecord } from '../../schemas/record.js';
import { createValidator, isRejection, parseMapping } from '../../src/validate/index.js';
import { makeJsonRow } from '../helpers/factories.js';

const validate = createValidator({ format: 'jsonl' });
const check = (value: unknown) => validate(makeJsonRow(value, 5));
const parsed = (text: string) => check(JSON.parse(text));

describe('flat JSONL records', () => {
  it('keep their JSON types (no casting) and nested objects', () => {
    expect(
      check({
        external_id: 'u1',
        zip: '01234',
        n: 7,
        vip: false,
        gone: null,
        tags: ['a'],
        addr: { city: 'Köln' },
      }),
    ).toEqual({
      line: 5,
      externalId: 'u1',
      attributes: { zip: '01234', n: 7, vip: false, gone: null, tags: ['a'], addr: { city: 'Köln' } },
    });
  });

  it('omit a blank string as CSV omits a blank cell (a "" used to overwrite the profile\'s value)', () => {
    expect(check({ external_id: 'u1', city: '', name: '  ', zip: '0', gone: null })).toEqual({
      line: 5,
      externalId: 'u1',
      attributes: { zip: '0', gone: null },
    });
  });

  it('refuse a line where a rename meets a key the line already has, naming both', () => {
    const v = createValidator({ mapping: parseMapping({ columns: { 'Email Address': 'email' } }) });
    expect(
      v(makeJsonRow({ external_id: 'u1', email: 'old@x.io', 'Email Address': 'new@x.io' })),
    ).toMatchObject({
      code: 'bad_key',
      message:
        '"email" and "Email Address" would both be sent as the attribute "email" (a rename onto a key the line has); drop or rename one of them',
    });
    expect(v(makeJsonRow({ external_id: 'u1', 'Email Address': 'new@x.io' }))).toMatchObject({
      attributes: { email: 'new@x.io' },
    });
  });

  it('require external_id to be a JSON string', () => {
    expect(check({ external_id: 42 })).toMatchObject({
      code: 'external_id_not_string',
      record: { external_id: 42 },
    });
    expect(check({ email: 'a@x.io' })).toMatchObject({ code: 'missing_external_id' });
  });

  it('honour --id-column and the mapping (rename, drop, type)', () => {
    const v = createValidator({
      idColumn: 'uid',
      mapping: parseMapping({ columns: { mail: 'email', secret: { drop: true }, age: { type: 'integer' } } }),
    });
    expect(v(makeJsonRow({ uid: 'u1', mail: 'a@x.io', secret: 's', age: '41' }))).toMatchObject({
      externalId: 'u1',
      attributes: { email: 'a@x.io', age: 41 },
    });
    expect(v(makeJsonRow({ uid: 'u1', external_id: 'other' }))).toMatchObject({
      code: 'bad_key',
      field: 'external_id',
    });
  });
});

describe('Braze-shaped JSONL lines', () => {
  it('are detected by attributes/events/purchases and get defaults (quantity 1)', () => {
    const result = check({
      external_id: 'u1',
      attributes: { external_id: 'u1', plan: 'pro' },
      events: [{ name: 'signup', time: '2024-05-01T10:00:00Z', properties: { source: 'ad' } }],
      purchases: [{ product_id: 'sku1', currency: 'EUR', price: 9.5, time: '2024-05-01' }],
    }) as UserRecord;
    expect(result).toEqual({
      line: 5,
      externalId: 'u1',
      attributes: { plan: 'pro' },
      events: [{ name: 'signup', time: '2024-05-01T10:00:00Z', properties: { source: 'ad' } }],
      purchases: [{ product_id: 'sku1', currency: 'EUR', price: 9.5, quantity: 1, time: '2024-05-01' }],
    });
  });

  it('have no attributes object when they only carry events', () => {
    const result = check({ external_id: 'u1', events: [{ name: 'e', time: '2024-05-01' }] }) as UserRecord;
    expect(result.attributes).toBeUndefined();
    expect(result.events).toHaveLength(1);
  });

  it.each([
    [{ events: [{ time: '2024-05-01' }] }, 'bad_event', 'events[0].name'],
    [{ events: [{ name: 'e' }] }, 'bad_event', 'events[0].time'],
    [{ events: [{ name: 'e', time: 'soon' }] }, 'bad_event', 'events[0].time'],
    [
      { events: [{ name: 'e', time: '2024-05-01', properties: { time: 1 } }] },
      'bad_event',
      'events[0].properties.time',
    ],
    [
      { events: [{ name: 'e', time: '2024-05-01', properties: { $x: 1 } }] },
      'bad_event',
      'events[0].properties.$x',
    ],
    [{ events: [{ name: 'e', time: '2024-05-01', external_id: 'u1' }] }, 'bad_event', 'events[0]'],
    [
      { purchases: [{ currency: 'USD', price: 1, time: '2024-05-01' }] },
      'bad_purchase',
      'purchases[0].product_id',
    ],
    [
      { purchases: [{ product_id: 'p', currency: 'US', price: 1, time: '2024-05-01' }] },
      'bad_purchase',
      'purchases[0].currency',
    ],
    [
      { purchases: [{ product_id: 'p', currency: 'USD', price: '1', time: '2024-05-01' }] },
      'bad_purchase',
      'purchases[0].price',
    ],
    [
      { purchases: [{ product_id: 'p', currency: 'USD', price: 1, quantity: 101, time: '2024-05-01' }] },
      'bad_purchase',
      'purchases[0].quantity',
    ],
    [{ attributes: [] }, 'bad_attributes', 'attributes'],
    [{ attributes: { a: 1 }, email: 'x' }, 'unknown_key', 'email'],
    [{ attributes: { external_id: 'u2' } }, 'bad_attributes', 'attributes.external_id'],
    [{ attributes: { bio: 'x'.repeat(256) } }, 'string_too_long', 'attributes.bio'],
    [{ attributes: { ['k'.repeat(256)]: 1 } }, 'string_too_long', `attributes.${'k'.repeat(256)}`],
  ])('refuse %j with %s', (extra, code, field) => {
    const result = check({ external_id: 'u1', ...extra });
    expect(result).toMatchObject({ code, field, line: 5, externalId: 'u1' });
    expect(isRejection(result) && result.record).toEqual({ external_id: 'u1', ...extra });
  });
});

describe('hostile input', () => {
  it.each([1, 'text', ['a'], null, true])('refuses the top-level value %j as not_an_object', (value) => {
    expect(check(value)).toMatchObject({ code: 'not_an_object', line: 5, record: value });
  });

  it.each([
    '{"external_id":"u1","__proto__":{"polluted":1}}',
    '{"external_id":"u1","attributes":{"__proto__":{"polluted":1}}}',
    '{"external_id":"u1","attributes":{"a":{"b":{"constructor":{"prototype":1}}}}}',
    '{"external_id":"u1","events":[{"name":"e","time":"2024-05-01","properties":{"prototype":1}}]}',
    '{"external_id":"u1","purchases":[{"product_id":"p","currency":"USD","price":1,"time":"2024-05-01","properties":{"x":[{"__proto__":1}]}}]}',
  ])('refuses forbidden keys anywhere: %s', (line) => {
    expect(parsed(line)).toMatchObject({ code: 'forbidden_key' });
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('caps nesting depth instead of overflowing the stack (10,000 levels)', () => {
    const deepArray = `{"external_id":"u1","a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    expect(parsed(deepArray)).toMatchObject({ code: 'too_deep' });
    const deepObject = `{"external_id":"u1","attributes":{"a":${'{"k":'.repeat(10_000)}1${'}'.repeat(10_000)}}}`;
    expect(parsed(deepObject)).toMatchObject({
      code: 'too_deep',
      field: expect.stringMatching(/^attributes\.a\.k/),
    });
  });

  it('accepts nesting up to the cap', () => {
    const ok = `{"external_id":"u1","a":${'{"k":'.repeat(30)}1${'}'.repeat(30)}}`;
    expect(isRejection(parsed(ok))).toBe(false);
  });

  it('refuses integers beyond 2^53, which JSON.parse has already rounded', () => {
    expect(parsed('{"external_id":"u1","n":12345678901234567890}')).toMatchObject({
      code: 'bad_value',
      field: 'n',
      message: expect.stringMatching(/send it as a string/),
    });
    expect(parsed('{"external_id":"u1","n":9007199254740991,"f":1.5e-7}')).toMatchObject({
      attributes: { n: Number.MAX_SAFE_INTEGER, f: 1.5e-7 },
    });
  });
});
