import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { createValidator, isRejection } from '../../src/validate/index.js';
import {
  FIELD_RULE_NAMES,
  profileFieldError,
  profileFieldProblem,
  profileFieldStoreProblem,
} from '../../src/validate/profile-fields.js';
import { makeCsvRow, makeJsonRow } from '../helpers/factories.js';
import { settings } from '../helpers/property.js';

/**
 * Values Braze would refuse, ignore, null or drop are rejected by our validator with the reason,
 * in every input path (CSV cell, flat JSONL, Braze-shaped JSONL), instead of spending a request.
 */

const csv = createValidator({ format: 'csv' });
const jsonl = createValidator({ format: 'jsonl' });
const fromCsv = (column: string, cell: string) => csv(makeCsvRow({ external_id: 'u1', [column]: cell }));
const flat = (key: string, value: unknown) => jsonl(makeJsonRow({ external_id: 'u1', [key]: value }));
const shaped = (key: string, value: unknown) =>
  jsonl(makeJsonRow({ external_id: 'u1', attributes: { [key]: value } }));

describe('nested custom attributes (Braze drops every nested update of a request over one bad value)', () => {
  it.each([
    ['a null inside', { a: { b: null } }, /is null/],
    ['a bad $time', { born: { $time: '2024-02-31' } }, /not a date Braze reads/],
    ['a $time past 3000', { born: { $time: '3001-01-01' } }, /past the year 3000/],
    ['a $time with company', { born: { $time: '2024-01-01', x: 1 } }, /holds nothing else/],
    ['a key with $', { $price: 1 }, /holds a space, "\." or "\$"/],
    ['a key with .', { 'a.b': 1 }, /holds a space/],
    ['a key with a space', { 'a b': 1 }, /holds a space/],
    ['an array of objects with a null', [{ a: 1 }, { b: null }], /is null/],
    ['objects mixed with text', [{ a: 1 }, 'x'], /mixes objects/],
  ])('%s is rejected with bad_nested_value', (_what, value, message) => {
    for (const result of [flat('song', value), shaped('song', value)]) {
      expect(result).toMatchObject({ code: 'bad_nested_value', message: expect.stringMatching(message) });
    }
  });

  it('a CSV cell holding an array of objects obeys the same rules', () => {
    expect(fromCsv('stays', '[{"hotel":"Ocean","nights":null}]')).toMatchObject({ code: 'bad_nested_value' });
    expect(isRejection(fromCsv('stays', '[{"hotel":"Ocean","nights":5}]'))).toBe(false);
  });

  it('valid nested values pass: $time dates, operators, plain arrays', () => {
    for (const value of [
      { most_played: { song: 'Solea', plays: { count: 1000 } } },
      { born: { $time: '1980-01-01' } },
      { $add: [{ id: 1 }], $remove: [{ $identifier_key: 'id', $identifier_value: 2 }] },
      { add: ['x'], remove: ['y'] },
      { inc: 2 },
      ['a', null],
    ]) {
      expect(isRejection(flat('v', value))).toBe(false);
    }
  });

  it('a nested object over 100 KB is rejected with value_too_large (a 156 KB one was sent before)', () => {
    const big = Object.fromEntries(Array.from({ length: 800 }, (_, i) => [`k${i}`, 'x'.repeat(190)]));
    expect(flat('big', big)).toMatchObject({
      code: 'value_too_large',
      message: expect.stringMatching(/^big is \d+ bytes as JSON; Braze takes at most 100 KB/),
    });
  });
});

describe('event and purchase properties have size caps', () => {
  const props = (kb: number) =>
    Object.fromEntries(Array.from({ length: kb * 4 }, (_, i) => [`p${i}`, 'y'.repeat(240)]));
  const event = (properties: object) => ({ name: 'e', time: '2024-01-01', properties });
  const purchase = (properties: object) => ({
    product_id: 'p',
    currency: 'USD',
    price: 1,
    time: '2024-01-01',
    properties,
  });

  it('purchase properties over 50 KB (60 KB) are rejected; 40 KB pass', () => {
    const line = (properties: object) =>
      jsonl(makeJsonRow({ external_id: 'u1', purchases: [purchase(properties)] }));
    expect(line(props(60))).toMatchObject({ code: 'value_too_large', field: 'purchases[0].properties' });
    expect(isRejection(line(props(40)))).toBe(false);
  });

  it('event properties over 100 KB are rejected; 60 KB pass', () => {
    const line = (properties: object) =>
      jsonl(makeJsonRow({ external_id: 'u1', events: [event(properties)] }));
    expect(line(props(110))).toMatchObject({ code: 'value_too_large', field: 'events[0].properties' });
    expect(isRejection(line(props(60)))).toBe(false);
  });
});

describe('default profile fields', () => {
  it.each([
    ['gender', 'Male', /one of M, F, O, N, P; Braze would ignore/],
    ['dob', '12/21/1980', /YYYY-MM-DD; Braze would ignore/],
    ['dob', '1980-02-30', /YYYY-MM-DD/],
    ['time_zone', 'Mars/Olympus', /IANA; Braze would ignore|IANA time zone name; Braze would ignore/],
    ['country', 'Narnia', /Braze would store null/],
    ['email', 'not an email', /not a valid email.*refuse the whole object/],
    ['email_subscribe', 'yes', /must be one of/],
    ['date_of_first_session', 'yesterday', /not a date Braze reads/],
  ])('%s %j is rejected with bad_profile_field', (field, cell, message) => {
    expect(fromCsv(field, cell)).toMatchObject({
      code: 'bad_profile_field',
      field,
      message: expect.stringMatching(message),
    });
    expect(flat(field, cell)).toMatchObject({ code: 'bad_profile_field' });
  });

  it.each([
    ['gender', 'F'],
    ['dob', '1980-12-21'],
    ['time_zone', 'America/New_York'],
    ['country', 'AU'],
    ['country', 'Australia'],
    ['country', 'de'],
    ['gender', 'null'],
  ])('%s %j passes', (field, cell) => {
    expect(isRejection(fromCsv(field, cell))).toBe(false);
  });

  it('a text profile field keeps the cell as text: a phone is never a number, `null` still unsets', () => {
    expect(fromCsv('phone', '15551234567')).toMatchObject({ attributes: { phone: '15551234567' } });
    expect(fromCsv('first_name', 'True')).toMatchObject({ attributes: { first_name: 'True' } });
    expect(fromCsv('phone', 'NULL')).toMatchObject({ attributes: { phone: null } });
    expect(flat('phone', 15551234567)).toMatchObject({
      code: 'bad_profile_field',
      message: /must be a string/,
    });
  });

  it('push tokens and subscription groups are checked item by item', () => {
    const token = { app_id: 'app', token: 'abcd', device_id: 'device-0001' };
    expect(isRejection(shaped('push_tokens', [token]))).toBe(false);
    expect(shaped('push_tokens', [{ ...token, app_id: 7 }])).toMatchObject({
      message: /BAD_PUSH_TOKEN_APP_ID/,
    });
    expect(shaped('push_tokens', [{ ...token, token: '' }])).toMatchObject({
      message: /BAD_PUSH_TOKEN_STRING/,
    });
    expect(shaped('push_tokens', [{ ...token, device_id: 'short' }])).toMatchObject({
      message: /BAD_DEVICE_ID/,
    });
    const group = { subscription_group_id: 'g1', subscription_state: 'subscribed' };
    expect(isRejection(shaped('subscription_groups', [group]))).toBe(false);
    expect(shaped('subscription_groups', group)).toMatchObject({ message: /BAD_SUBSCRIPTION_GROUP_ARRAY/ });
    expect(shaped('subscription_groups', [{ ...group, subscription_state: 'opted_in' }])).toMatchObject({
      message: /BAD_SUBSCRIPTION_GROUP_STATE/,
    });
    expect(shaped('subscription_groups', [{ subscription_state: 'subscribed' }])).toMatchObject({
      message: /BAD_SUBSCRIPTION_GROUP_ID/,
    });
  });
});

/**
 * The emulator runs a field's rule once, as an error check (validating) or as a store check (planning
 * a valid object's writes): each rule must answer only one kind, whatever the value.
 */
describe('each profile-field rule answers errors only, or ignored and nulled only', () => {
  const values = fc.oneof(
    fc.anything(),
    fc.constantFrom('', 'M', 'Male', 'a@b.co', 'subscribed', 'opted_in', 'US', 'Narnia', '1980-01-01', 'UTC'),
    fc.array(
      fc.record({
        app_id: fc.string(),
        token: fc.string(),
        subscription_group_id: fc.string(),
        subscription_state: fc.constantFrom('subscribed', 'x'),
      }),
      { maxLength: 2 },
    ),
    fc.record({ longitude: fc.double(), latitude: fc.double() }),
  );

  it('profileFieldError and profileFieldStoreProblem split profileFieldProblem, on 10,000 values', () => {
    fc.assert(
      fc.property(fc.constantFrom(...FIELD_RULE_NAMES), values, (name, value) => {
        const verdict = profileFieldProblem(name, value);
        const isError = verdict?.effect === 'error';
        expect(profileFieldError(name, value)).toEqual(isError ? verdict : undefined);
        expect(profileFieldStoreProblem(name, value)).toEqual(verdict && !isError ? verdict : undefined);
      }),
      settings,
    );
  });

  it('a key without a rule has neither', () => {
    for (const name of ['first_name', 'external_id', 'constructor', '__proto__', 'toString']) {
      expect(profileFieldError(name, 'x')).toBeUndefined();
      expect(profileFieldStoreProblem(name, 'x')).toBeUndefined();
      expect(profileFieldProblem(name, 'x')).toBeUndefined();
    }
  });
});
