import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import type { Rejection, UserRecord } from '../../schemas/record.js';
import { type Chunk, createChunker } from '../../src/chunk/index.js';
import { openSource } from '../../src/read/index.js';
import { createValidator, isRejection, parseMappingText, resolveIdColumn } from '../../src/validate/index.js';

/** read -> validate -> chunk on the fixtures, wired the way a producer would wire them. */
async function run(path: string, mappingPath?: string) {
  const mapping = mappingPath ? parseMappingText(readFileSync(mappingPath, 'utf8'), mappingPath) : undefined;
  const idColumn = resolveIdColumn(mapping);
  const source = await openSource(path, { idColumn });
  const validate = createValidator({ mapping, idColumn, format: source.format });
  const rejected: Rejection[] = [];
  const records: UserRecord[] = [];
  const chunker = createChunker({ onReject: (r) => rejected.push(r) });
  const chunks: Chunk[] = [];
  for await (const raw of source) {
    const result = validate(raw);
    if (isRejection(result)) rejected.push(result);
    else {
      records.push(result);
      chunks.push(...chunker.push(result));
    }
  }
  chunks.push(...chunker.flush());
  return { records, rejected, chunks };
}

describe('fixtures through read, validate and chunk', () => {
  it('users.csv with mapping.json', async () => {
    const { records, rejected, chunks } = await run('test/fixtures/users.csv', 'test/fixtures/mapping.json');
    expect(rejected).toEqual([]);
    expect(records.map((r) => [r.line, r.externalId])).toEqual([
      [2, 'u1'],
      [3, 'u2'],
      [4, 'u3'],
    ]);
    expect(chunks).toHaveLength(1);
    expect(chunks[0]?.body).toEqual({
      attributes: [
        { external_id: 'u1', email: 'ada@example.com', zip: '01234', tags: ['gold', 'vip'], plan: 'pro' },
        { external_id: 'u2', email: '"bob,jr"@example.com', zip: '99999' },
        { external_id: 'u3', zip: '00001', plan: 'free\ntrial' },
      ],
      events: [
        { external_id: 'u1', name: 'signup', time: '2024-05-01T10:00:00Z', properties: { plan: 'pro' } },
        { external_id: 'u3', name: 'signup', time: '2024-05-03', properties: { plan: 'free\ntrial' } },
      ],
      purchases: [
        {
          external_id: 'u1',
          product_id: 'sku-1',
          currency: 'USD',
          price: 9.9,
          quantity: 2,
          time: '2024-05-02T08:00:00Z',
        },
      ],
    });
    expect(chunks[0]?.lines).toEqual({ attributes: [[2], [3], [4]], events: [2, 4], purchases: [2] });
  });

  it('users.jsonl: flat and Braze-shaped lines, bad lines rejected with their line numbers', async () => {
    const { records, rejected } = await run('test/fixtures/users.jsonl');
    expect(records.map((r) => r.line)).toEqual([1, 3, 6]);
    expect(rejected.map((r) => [r.line, r.code])).toEqual([
      [4, 'bad_json'],
      [5, 'not_an_object'],
    ]);
  });

  it('crlf-bom.csv', async () => {
    const { records } = await run('test/fixtures/crlf-bom.csv');
    expect(records).toEqual([{ line: 2, externalId: 'u1', attributes: { name: 'Zoë' } }]);
  });
});
