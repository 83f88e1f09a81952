import { Braze } from 'braze-api';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';

// braze-api (braze-community/braze-node) is a real third-party client: if it can talk to the emulator, the
// emulator speaks Braze's wire format (Bearer auth, JSON bodies, 201 success, JSON error bodies).
const KEY = 'client-key';
let emu: Emulator;
let braze: Braze;

interface ResponseErrorLike {
  message: string;
  status: number;
  errors?: unknown[];
}

async function failure(promise: Promise<unknown>): Promise<ResponseErrorLike> {
  try {
    await promise;
  } catch (err) {
    return err as ResponseErrorLike;
  }
  throw new Error('expected the client to reject');
}

beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: KEY });
  braze = new Braze(emu.url, KEY);
});
afterAll(() => emu.close());

describe('braze-api client against the emulator', () => {
  it('tracks attributes, events and purchases (with the bulk header)', async () => {
    const res = await braze.users.track(
      {
        attributes: [
          { external_id: 'client-1', first_name: 'Ada', email: 'ada@example.com', visits: { inc: 2 } },
        ],
        events: [
          {
            external_id: 'client-1',
            name: 'logged_in',
            time: '2024-03-01T10:00:00Z',
            properties: { via: 'sso' },
          },
        ],
        purchases: [
          {
            external_id: 'client-1',
            product_id: 'plan',
            currency: 'EUR',
            price: 9.99,
            time: '2024-03-01T10:00:00Z',
          },
        ],
      },
      true,
    );
    expect(res).toEqual({
      message: 'success',
      attributes_processed: 1,
      events_processed: 1,
      purchases_processed: 1,
    });
    expect(emu.getUser('client-1')).toMatchObject({
      attributes: { first_name: 'Ada', email: 'ada@example.com', visits: 2 },
      events: [{ name: 'logged_in', properties: { via: 'sso' } }],
      purchases: [{ product_id: 'plan', price: 9.99, quantity: 1 }],
    });
  });

  it('gets per-object errors inside a successful answer', async () => {
    const res = await braze.users.track({
      attributes: [{ external_id: 'client-2' }, { first_name: 'nobody' }],
    });
    expect(res.message).toBe('success');
    expect(res.errors).toEqual([{ type: expect.any(String), input_array: 'attributes', index: 1 }]);
  });

  it('sees 401 for a wrong key as an error', async () => {
    const err = await failure(
      new Braze(emu.url, 'wrong').users.track({ attributes: [{ external_id: 'x' }] }),
    );
    expect(err).toMatchObject({ status: 401, message: 'Invalid API Key' });
  });

  it('sees 400 Max Input Length Exceeded and all-invalid bodies as errors', async () => {
    const attributes = Array.from({ length: 76 }, (_, i) => ({ external_id: `bulk-${i}` }));
    expect(await failure(braze.users.track({ attributes }))).toMatchObject({
      status: 400,
      message: 'Max Input Length Exceeded',
    });
    const invalid = await failure(
      braze.users.track({ events: [{ external_id: 'x', name: 'e', time: 'not a time' }] }),
    );
    expect(invalid.status).toBe(400);
    expect(invalid.errors).toHaveLength(1);
  });

  it('deletes users through /users/delete', async () => {
    await braze.users.track({ attributes: [{ external_id: 'to-delete' }] });
    expect(await braze.users.delete({ external_ids: ['to-delete'] })).toMatchObject({ deleted: 1 });
    expect(emu.getUser('to-delete')).toBeUndefined();
  });
});
