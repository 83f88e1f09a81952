import { describe, expect, it } from 'vitest';
import {
  attributePoints,
  dataPointsOfBody,
  estimateDataPoints,
  eventPoints,
  purchasePoints,
} from '../../src/validate/data-points.js';

/** Data points as Braze's data points page bills them; the emulator counts with the same functions. */

const points = (attrs: Record<string, unknown>) => attributePoints({ external_id: 'u1', ...attrs });

describe('data points', () => {
  it.each([
    ['a plain value', { plan: 'gold' }, 1],
    ['null (an unset still costs)', { plan: null }, 1],
    ['a whole array set at once', { tags: ['a', 'b', 'c'] }, 1],
    ['add of 3 values (used to count 1)', { tags: { add: ['a', 'b', 'c'] } }, 3],
    ['remove, even of values not there', { tags: { remove: ['x', 'y'] } }, 1],
    ['add and remove', { tags: { add: ['a', 'b'], remove: ['x'] } }, 3],
    ['an empty add (the call still costs)', { tags: { add: [] } }, 1],
    ['inc', { logins: { inc: 2 } }, 1],
    ['a 4-key nested object (used to count 1)', { song: { a: 1, b: 2, c: 3, d: 4 } }, 4],
    ['keys at every level', { song: { name: 'x', plays: { count: 1, top: true } } }, 4],
    ['a $time date is one value', { dates: { born: { $time: '1980-01-01' } } }, 1],
    ['an array of objects: its keys', { stays: [{ hotel: 'a', nights: 2 }, { hotel: 'b' }] }, 3],
    [
      'array-of-objects operations',
      {
        stays: {
          $add: [{ hotel: 'c', nights: 1 }],
          $remove: [{ $identifier_key: 'hotel', $identifier_value: 'a' }],
          $update: [{ $identifier_key: 'hotel', $identifier_value: 'b', $new_object: { nights: 3 } }],
        },
      },
      4,
    ],
    [
      'subscription fields and push tokens are free (used to count 3)',
      {
        email_subscribe: 'opted_in',
        push_subscribe: 'subscribed',
        subscription_groups: [{ subscription_group_id: 'g', subscription_state: 'subscribed' }],
        push_tokens: [{ app_id: 'a', token: 't' }],
      },
      0,
    ],
    ['identifiers and flags are free', { _update_existing_only: true, _merge_objects: true }, 0],
  ])('%s', (_what, attrs, expected) => {
    expect(points(attrs)).toBe(expected);
  });

  it('events and purchases: 1 each (a purchase 1 per unit), plus 1 per property', () => {
    expect(eventPoints({ name: 'e', time: 't' })).toBe(1);
    expect(eventPoints({ name: 'e', time: 't', properties: { a: 1, b: [1, 2] } })).toBe(3);
    expect(purchasePoints({ product_id: 'p', quantity: 3, properties: { color: 'red' } })).toBe(4);
    expect(purchasePoints({ product_id: 'p' })).toBe(1);
  });

  it('a record costs what its objects cost; a body sums its objects', () => {
    const record = {
      line: 2,
      externalId: 'u1',
      attributes: { tags: { add: ['a', 'b', 'c'] }, plan: 'gold' },
      events: [{ name: 'e', time: '2024-01-01', properties: { p: 1 } }],
      purchases: [{ product_id: 'p', currency: 'USD', price: 1, quantity: 2, time: '2024-01-01' }],
    };
    expect(estimateDataPoints(record)).toBe(4 + 2 + 2);
    expect(
      dataPointsOfBody({
        attributes: [
          { external_id: 'u1', plan: 'a' },
          { external_id: 'u2', song: { a: 1, b: 2 } },
        ],
        events: [{ external_id: 'u1', name: 'e', time: 't' }],
      }),
    ).toBe(1 + 2 + 1);
  });
});
