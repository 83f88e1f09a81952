import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, describe, expect, it } from 'vitest';
import { csvValues, type RawRow } from '../../schemas/record.js';
import { UsageError } from '../../src/errors.js';
import { type OpenSourceOptions, openSource } from '../../src/read/index.js';
import { makeCsv } from '../helpers/factories.js';

const dir = mkdtempSync(join(tmpdir(), 'read-csv-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let n = 0;
function file(content: string | Buffer, name = `f${n++}.csv`): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

async function rows(
  content: string | Buffer,
  options: OpenSourceOptions = {},
  name?: string,
): Promise<RawRow[]> {
  const source = await openSource(file(content, name), options);
  const out: RawRow[] = [];
  for await (const row of source) out.push(row);
  return out;
}

/** [line, external_id] of csv rows, [line, code] of error rows. */
function summary(list: RawRow[]): [number, string][] {
  return list.map((r) => [
    r.line,
    r.kind === 'csv' ? (csvValues(r)['external_id'] ?? '') : r.kind === 'error' ? r.code : 'json',
  ]);
}

async function usageLines(content: string, options: OpenSourceOptions = {}): Promise<string[]> {
  try {
    await rows(content, options);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).lines;
  }
  throw new Error('expected a UsageError');
}

/** A CSV row with its cells also under their column names, to compare by name. */
const named = (r: RawRow | undefined) => (r?.kind === 'csv' ? { ...r, values: csvValues(r) } : r);

describe('CSV reader', () => {
  it('reads rows with line numbers, the header being line 1', async () => {
    const out = await rows('external_id,email\nu1,a@x.io\nu2,b@x.io\n');
    expect(out).toEqual([
      {
        line: 2,
        kind: 'csv',
        cells: ['u1', 'a@x.io'],
        header: ['external_id', 'email'],
      },
      {
        line: 3,
        kind: 'csv',
        cells: ['u2', 'b@x.io'],
        header: ['external_id', 'email'],
      },
    ]);
  });

  it('strips a UTF-8 BOM so the first column is still external_id', async () => {
    const out = await rows(makeCsv([{ external_id: 'u1', city: 'Köln' }], { bom: true }));
    expect(named(out[0])).toMatchObject({ line: 2, values: { external_id: 'u1', city: 'Köln' } });
  });

  it('handles CRLF line endings', async () => {
    const out = await rows('external_id,name\r\nu1,Ada\r\nu2,Bob\r\n');
    expect(out.map((r) => r.kind === 'csv' && csvValues(r))).toEqual([
      { external_id: 'u1', name: 'Ada' },
      { external_id: 'u2', name: 'Bob' },
    ]);
  });

  it('keeps quoted commas, quotes and newlines, numbering each record by the line it starts on', async () => {
    const csv =
      'external_id,note\nu1,"a, b"\nu2,"say ""hi"""\nu3,"two\nlines"\nu4,"three\r\nlines\r\nhere"\nu5,x\n';
    const out = await rows(csv);
    expect(summary(out)).toEqual([
      [2, 'u1'],
      [3, 'u2'],
      [4, 'u3'],
      [6, 'u4'],
      [9, 'u5'],
    ]);
    const notes = out.map((r) => (r.kind === 'csv' ? csvValues(r)['note'] : undefined));
    expect(notes).toEqual(['a, b', 'say "hi"', 'two\nlines', 'three\r\nlines\r\nhere', 'x']);
  });

  it('counts blank lines (even before the header) without emitting them', async () => {
    const out = await rows('\nexternal_id,a\n\nu1,1\n\n\nu2,2');
    expect(summary(out)).toEqual([
      [4, 'u1'],
      [7, 'u2'],
    ]);
  });

  it('honours a custom delimiter', async () => {
    const out = await rows('external_id;price\nu1;"1,5"\n', { delimiter: ';' });
    expect(named(out[0])).toMatchObject({ values: { external_id: 'u1', price: '1,5' } });
  });

  it('refuses an unusable delimiter with a UsageError', async () => {
    const lines = await usageLines('external_id\nu1\n', { delimiter: '' });
    expect(lines[0]).toMatch(/^--delimiter "": /);
  });

  it('reads .tsv with a tab delimiter by default', async () => {
    const out = await rows('external_id\tcity\nu1\tParis, TX\n', {}, 'people.tsv');
    expect(named(out[0])).toMatchObject({ values: { external_id: 'u1', city: 'Paris, TX' } });
  });

  it('turns ragged rows into error rows and keeps going', async () => {
    const out = await rows('external_id,a,b\nu1,1,2\nu2,1\nu3,1,2,3\nu4,1,2\n');
    expect(summary(out)).toEqual([
      [2, 'u1'],
      [3, 'ragged_row'],
      [4, 'ragged_row'],
      [5, 'u4'],
    ]);
    expect(out[1]).toMatchObject({ message: 'expected 3 cells like the header, got 2', raw: ['u2', '1'] });
  });

  it('reports an unclosed quote as an error row for its own line and reads on with the next', async () => {
    const out = await rows('external_id,a\nu1,1\nu2,"oops\nu3,3\n');
    expect(summary(out)).toEqual([
      [2, 'u1'],
      [3, 'bad_csv'],
      [4, 'u3'],
    ]);
    expect(out[1]).toMatchObject({ message: expect.stringContaining('never closed'), raw: 'u2,"oops' });
  });

  it('reports a stray quote inside a field as an error row and reads on', async () => {
    const out = await rows('external_id,a\nu1,ab"c\nu2,2\n');
    expect(summary(out)).toEqual([
      [2, 'bad_csv'],
      [3, 'u2'],
    ]);
  });

  it('refuses duplicate column names before reading any row', async () => {
    const lines = await usageLines('external_id,email,email\nu1,a,b\n');
    expect(lines).toEqual([expect.stringMatching(/duplicate column name "email" \(columns 2 and 3\)/)]);
  });

  it('refuses a header without external_id, naming the columns and --id-column', async () => {
    const lines = await usageLines('id,email\n1,a\n');
    expect(lines[0]).toMatch(/no "external_id" column .*\(columns: id, email\); use --id-column/);
  });

  it('accepts a renamed id column (--id-column)', async () => {
    const out = await rows('user_id,email\nu1,a\n', { idColumn: 'user_id' });
    expect(named(out[0])).toMatchObject({ line: 2, values: { user_id: 'u1' } });
  });

  it('yields nothing for an empty file and for a header-only file', async () => {
    expect(await rows('')).toEqual([]);
    const source = await openSource(file('external_id,email\n'));
    const out: RawRow[] = [];
    for await (const r of source) out.push(r);
    expect(out).toEqual([]);
    expect(source.header).toEqual(['external_id', 'email']);
  });

  it('gives a file with a __proto__ column prototype-less rows (no pollution)', async () => {
    const out = await rows('external_id,__proto__\nu1,"{""polluted"":true}"\n');
    const row = out[0];
    expect(row?.kind).toBe('csv');
    if (row?.kind !== 'csv') return;
    const values = csvValues(row);
    expect(Object.getPrototypeOf(values)).toBeNull();
    expect(Object.getOwnPropertyDescriptor(values, '__proto__')?.value).toBe('{"polluted":true}');
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
  });

  it('rejects the line of a quoted field that runs past the record cap, and reads on', async () => {
    const huge = `external_id,a\nu0,1\nu1,"${'x'.repeat(9 * 1024 * 1024)}\nu2,2\n`;
    const out = await rows(huge);
    expect(summary(out)).toEqual([
      [2, 'u0'],
      [3, 'bad_csv'],
      [4, 'u2'],
    ]);
    expect(out[1]).toMatchObject({
      message: expect.stringMatching(/quoted field .*runs past 8388608 characters/),
    });
  });

  it('a quoted empty cell is a row, not a blank line: a one-column "" is an empty id, else a ragged row', async () => {
    const one = await rows('external_id\nu1\n""\n\n\nu5\n""');
    expect(summary(one)).toEqual([
      [2, 'u1'],
      [3, ''],
      [6, 'u5'],
      [7, ''],
    ]);
    const two = await rows('\uFEFF\nexternal_id,name\n""\n\nu5,x\r\n');
    expect(summary(two)).toEqual([
      [3, 'ragged_row'],
      [5, 'u5'],
    ]);
  });

  it("keeps a broken line's whole text for its dead letter when the line ends in a later read", async () => {
    const first = Buffer.from('external_id\n","[[[');
    const stdin = Readable.from([first, Buffer.from('[\nu3\n')]);
    const source = await openSource('-', { stdin, format: 'csv' });
    const out: RawRow[] = [];
    for await (const row of source) out.push(row);
    expect(out).toEqual([
      expect.objectContaining({ line: 2, kind: 'error', code: 'bad_csv', raw: '","[[[[' }),
      expect.objectContaining({ line: 3, kind: 'csv', cells: ['u3'] }),
    ]);
  });
});
