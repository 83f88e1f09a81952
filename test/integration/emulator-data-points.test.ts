import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { UserRecord } from '../../schemas/record.js';
import { createChunker } from '../../src/chunk/index.js';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { openSource } from '../../src/read/index.js';
import {
  createValidator,
  dataPointsOfBody,
  estimateDataPoints,
  isRejection,
} from '../../src/validate/index.js';
import { tempDir } from '../helpers/files.js';

/**
 * The dry run's estimate against the emulator's bill: a JSONL file with every kind of value that
 * costs differently (array add, nested keys, null, subscription fields, push tokens, event and
 * purchase properties, quantities, a user on several rows) is read, validated and chunked as a run
 * does it; the chunks' bodies are sent over HTTP, and /_emulator/stats must bill exactly the sum of
 * dataPointsOfBody over those bodies.
 */

const KEY = 'dp-key';
let emu: Emulator;
beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: KEY });
});
afterAll(() => emu.close());

function lines(): unknown[] {
  const out: unknown[] = [];
  for (let i = 0; i < 120; i++) {
    const id = i < 60 ? `u${i >> 1}` : `u${i}`; // 30 users on two rows in a row: merged in a chunk
    out.push({
      external_id: id,
      attributes: {
        plan: i % 3 === 0 ? null : `p${i % 4}`,
        tags: i % 2 === 0 ? { add: ['a', 'b', `t${i}`] } : ['x', 'y'],
        song: { name: `s${i}`, plays: { count: i, top: i % 2 === 0 } },
        email_subscribe: 'opted_in',
        // A user's second row writes only values that replace (so the two rows fold into one
        // object); lists of updates would keep them apart (src/chunk/merge.ts).
        ...((i >= 60 || i % 2 === 0) && {
          subscription_groups: [{ subscription_group_id: 'g1', subscription_state: 'subscribed' }],
          push_tokens: [{ app_id: 'app', token: `tok${i}` }],
        }),
        ...(i % 5 === 0 && { dates: { born: { $time: '1980-01-01' } } }),
      },
      events: [{ name: 'seen', time: '2024-05-01T10:00:00Z', properties: { page: i, ref: 'x' } }],
      ...(i % 4 === 0 && {
        purchases: [
          { product_id: 'sku', currency: 'EUR', price: 9.5, quantity: 1 + (i % 3), time: '2024-05-01' },
        ],
      }),
    });
  }
  return out;
}

async function send(body: string): Promise<number> {
  const res = await request(`${emu.url}/users/track`, {
    method: 'POST',
    headers: { authorization: `Bearer ${KEY}`, 'content-type': 'application/json' },
    body,
  });
  await res.body.dump();
  return res.statusCode;
}

describe('data points: the estimate of what is sent equals what the emulator bills', () => {
  it('over a real file, read, validated and chunked as a run does it', async () => {
    const file = join(tempDir(), 'points.jsonl');
    writeFileSync(
      file,
      `${lines()
        .map((l) => JSON.stringify(l))
        .join('\n')}\n`,
    );
    const source = await openSource(file);
    const validate = createValidator({ format: 'jsonl' });
    const chunker = createChunker({ maxObjects: 75 });
    const bodies: string[] = [];
    let estimate = 0;
    let perRecord = 0;
    const take = (chunks: ReturnType<typeof chunker.flush>) => {
      for (const c of chunks) {
        estimate += dataPointsOfBody(c.body);
        bodies.push(c.json);
      }
    };
    for await (const row of source) {
      const r = validate(row);
      expect(isRejection(r)).toBe(false);
      perRecord += estimateDataPoints(r as UserRecord);
      take(chunker.push(r as UserRecord));
    }
    take(chunker.flush());
    for (const body of bodies) expect(await send(body)).toBe(201);
    expect(emu.stats().dataPoints).toBe(estimate);
    expect(estimate).toBeGreaterThan(1000);
    // Rows of one user merged into one object cost what the merged object costs: summing per
    // record counts the merged attributes twice, so the dry run must sum its chunks' bodies.
    expect(perRecord).toBeGreaterThan(estimate);
  });
});
