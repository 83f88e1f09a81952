import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import type { RawRow } from '../../schemas/record.js';
import { openSource } from '../../src/read/index.js';
import { MAX_LINE_CHARS } from '../../src/read/jsonl.js';

const dir = mkdtempSync(join(tmpdir(), 'read-jsonl-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
async function rows(content: string, name = `f${n++}.jsonl`): Promise<RawRow[]> {
  const path = join(dir, name);
  writeFileSync(path, content);
  const out: RawRow[] = [];
  for await (const row of await openSource(path)) out.push(row);
  return out;
}

describe('JSONL reader', () => {
  it('reads one value per line with its line number, skipping blank lines', async () => {
    const out = await rows('{"external_id":"u1"}\n\n   \n{"external_id":"u2","n":2}\r\n');
    expect(out).toEqual([
      { line: 1, kind: 'jsonl', value: { external_id: 'u1' }, text: '{"external_id":"u1"}' },
      { line: 4, kind: 'jsonl', value: { external_id: 'u2', n: 2 }, text: '{"external_id":"u2","n":2}' },
    ]);
  });

  it('turns a line that is not JSON into a bad_json error row and keeps going', async () => {
    const out = await rows('{"external_id":"u1"}\n{"external_id": nope}\n{"external_id":"u3"}');
    expect(out.map((r) => [r.line, r.kind])).toEqual([
      [1, 'jsonl'],
      [2, 'error'],
      [3, 'jsonl'],
    ]);
    expect(out[1]).toMatchObject({ code: 'bad_json', raw: '{"external_id": nope}' });
    expect(out[1]).toHaveProperty('message', expect.stringMatching(/^not valid JSON: /));
  });

  it('passes non-object values through for the validator to refuse', async () => {
    const out = await rows('1\n["a"]\n"s"\nnull\n', 'values.ndjson');
    expect(out.map((r) => (r.kind === 'jsonl' ? r.value : r.kind))).toEqual([1, ['a'], 's', null]);
  });

  it('keeps __proto__ an own property, never a prototype', async () => {
    const out = await rows('{"external_id":"u1","__proto__":{"polluted":true}}\n');
    const value = out[0]?.kind === 'jsonl' ? (out[0].value as Record<string, unknown>) : {};
    expect(Object.keys(value)).toEqual(['external_id', '__proto__']);
    expect(Object.getPrototypeOf(value)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('strips a BOM and handles multi-byte characters split across chunks', async () => {
    const text = `\uFEFF{"external_id":"u1","city":"Zoë São Köln"}\n`;
    const bytes = Buffer.from(text);
    const chunks = Array.from(bytes, (b) => Buffer.from([b])); // one byte per chunk
    const source = await openSource('-', { stdin: Readable.from(chunks), format: 'jsonl' });
    const out: RawRow[] = [];
    for await (const row of source) out.push(row);
    const value = { external_id: 'u1', city: 'Zoë São Köln' };
    expect(out).toEqual([{ line: 1, kind: 'jsonl', value, text: JSON.stringify(value) }]);
  });

  it('yields nothing for an empty file', async () => {
    expect(await rows('')).toEqual([]);
    expect(await rows('\n\n')).toEqual([]);
  });

  it('turns 10,000-deep nesting into a too_deep error row that keeps the line (no crash)', async () => {
    const deep = `{"external_id":"u1","a":${'['.repeat(10_000)}${']'.repeat(10_000)}}`;
    const out = await rows(`${deep}\n{"external_id":"u2"}\n`);
    expect(out.map((r) => [r.line, r.kind === 'error' ? r.code : r.kind])).toEqual([
      [1, 'too_deep'],
      [2, 'jsonl'],
    ]);
    expect(out[0]).toMatchObject({ raw: deep });
  });

  it('reports a line longer than the cap as an error row, skips it and reads on', async () => {
    const out = await rows(
      `{"external_id":"u0"}\n{"external_id":"${'x'.repeat(9 * 1024 * 1024)}"}\n{"external_id":"u2"}\n`,
    );
    expect(out.map((r) => [r.line, r.kind])).toEqual([
      [1, 'jsonl'],
      [2, 'error'],
      [3, 'jsonl'],
    ]);
    expect(out[1]).toMatchObject({ code: 'bad_json', message: expect.stringMatching(/longer than/) });
  });

  it('holds the line cap exactly, also for a line that arrives whole in one read (it used to be parsed)', async () => {
    const id = (length: number) => `{"external_id":"${'x'.repeat(length - 18)}"}`;
    expect(id(30)).toHaveLength(30);
    const over = id(MAX_LINE_CHARS + 1);
    const atCap = id(MAX_LINE_CHARS);
    const text = `${over}\n${atCap}\r\n{"external_id":"u3"}\n`;
    const source = await openSource('-', { stdin: Readable.from([Buffer.from(text)]), format: 'jsonl' });
    const out: RawRow[] = [];
    for await (const row of source) out.push(row);
    expect(out.map((r) => [r.line, r.kind])).toEqual([
      [1, 'error'],
      [2, 'jsonl'],
      [3, 'jsonl'],
    ]);
    expect(out[0]).toMatchObject({ code: 'bad_json', message: expect.stringMatching(/longer than 8388608/) });
  });
});
