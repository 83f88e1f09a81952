import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { type Emulator, startEmulator } from '../../src/emulator/index.js';
import { openSource } from '../../src/read/index.js';
import { createValidator } from '../../src/validate/index.js';
import { type CliResult, cliEnv, runCli, startCli } from '../helpers/cli.js';
import { tempDir } from '../helpers/files.js';
import { testRedisUrl, uniquePrefix } from '../helpers/redis.js';

/**
 * Bad input, end to end through the built CLI against the emulator and a real Redis. Every input
 * gets a clear answer: a dead letter with its line and reason, or exit 2 with one line; never a
 * crash or a stack trace; and the good rows of the same file still reach Braze, as the file says.
 *
 * Small text cases are files in test/fixtures/bad; byte-level and big ones (invalid UTF-8, NUL,
 * binary garbage, truncated gzip, a 10 MB line, 10,000-deep nesting) are written at test time.
 */

const KEY = 'bad-input-key';
const FIXTURES = fileURLToPath(new URL('../fixtures/bad/', import.meta.url));
const fixture = (name: string) => join(FIXTURES, name);

let emu: Emulator;
let dir: string;

beforeAll(async () => {
  emu = await startEmulator({ port: 0, apiKey: KEY });
  dir = tempDir('bad-input-');
});
afterAll(async () => {
  await emu.close();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => emu.reset());

function write(name: string, content: string | Buffer): string {
  const path = join(dir, name);
  writeFileSync(path, content);
  return path;
}

/** Each run gets its own key prefix: the same file may be imported by several cases. */
function env(): NodeJS.ProcessEnv {
  return cliEnv({
    REDIS_URL: testRedisUrl(),
    BRAZE_REST_ENDPOINT: emu.url,
    BRAZE_API_KEY: KEY,
    BRAZE_IMPORT_PREFIX: uniquePrefix('bad'),
  });
}

interface Summary {
  runId: string;
  status: string;
  rows: { read: number; valid: number; rejected: number };
  objects: { total: number; sent: number; accepted: number; failed: number; notAttempted: number };
  deadLetters: number;
}
type Letter = Record<string, unknown> & { _source_line: number; _error_code: string; _error_message: string };

const STACK_LINE = /^\s+at /m;

/** Runs `braze-import run FILE --json` and reads back its dead letters; checks what every run must satisfy. */
async function importFile(
  path: string,
  expected: { code: 0 | 3; rows: Summary['rows'] },
): Promise<{ summary: Summary; letters: Letter[]; exported: string }> {
  const e = env();
  const runId = `bad-${Math.random().toString(36).slice(2, 10)}`;
  const r = await runCli(['run', path, '--json', '--run-id', runId], e);
  expect(r.stderr, r.stderr).not.toMatch(STACK_LINE);
  expect(r.code, r.stderr).toBe(expected.code);
  const summary = JSON.parse(r.stdout) as Summary;
  expect(summary.status).toBe(expected.code === 0 ? 'completed' : 'completed_with_errors');
  expect(summary.rows).toEqual(expected.rows);
  // The counts add up, every valid row was delivered, and every rejected row is a dead letter.
  expect(summary.rows.read).toBe(summary.rows.valid + summary.rows.rejected);
  expect(summary.objects).toMatchObject({ failed: 0, notAttempted: 0 });
  expect(summary.objects.accepted).toBe(summary.objects.total);
  expect(summary.deadLetters).toBe(summary.rows.rejected + summary.objects.failed);
  expect(emu.stats().objects.rejected).toBe(0);
  if (summary.deadLetters === 0) return { summary, letters: [], exported: '' };
  const dl = await runCli(['dlq', 'export', '--run', runId, '--format', 'jsonl'], e);
  expect(dl.code, dl.stderr).toBe(0);
  const letters = dl.stdout
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l) as Letter)
    .sort((a, b) => a._source_line - b._source_line);
  expect(letters).toHaveLength(summary.deadLetters);
  return { summary, letters, exported: dl.stdout };
}

/** Exit 2, nothing on stdout, exactly one line on stderr, no stack, and nothing sent to Braze. */
function refusedWithOneLine(r: CliResult): string {
  expect(r.code, r.stderr).toBe(2);
  expect(r.stdout).toBe('');
  expect(r.stderr).not.toMatch(STACK_LINE);
  const lines = r.stderr.split('\n').filter((l) => l !== '');
  expect(lines, r.stderr).toHaveLength(1);
  expect(lines[0]).toMatch(/^braze-import: /);
  expect(emu.stats().requests.total).toBe(0);
  return lines[0]!;
}

const codes = (letters: Letter[]) => letters.map((l) => [l._source_line, l._error_code]);
const attributesOf = (id: string) => emu.getUser(id)?.attributes;

/** Only these profiles exist, with exactly these attributes: nothing else was sent. */
function expectProfiles(expected: Record<string, Record<string, unknown>>): void {
  for (const [id, attributes] of Object.entries(expected)) expect(attributesOf(id), id).toEqual(attributes);
  expect(emu.stats().users).toBe(Object.keys(expected).length);
}

/** Deterministic bytes (a linear congruential generator), so a failure can be reproduced. */
function pseudoRandomBytes(n: number, seed: number): Buffer {
  const out = Buffer.alloc(n);
  let s = seed;
  for (let i = 0; i < n; i++) {
    s = (s * 1103515245 + 12345) % 2147483648;
    out[i] = s >>> 16;
  }
  return out;
}

describe('bad input: file-level cases', () => {
  it('an empty file is an empty import: exit 0, 0 rows, nothing sent', async () => {
    // A data engineer's nightly export of "users changed today" is empty on a quiet day; failing
    // would page someone for a no-op. The summary says 0 rows, so a monitor can still alert on it.
    for (const name of ['empty.csv', 'empty.jsonl']) {
      const { summary } = await importFile(fixture(name), {
        code: 0,
        rows: { read: 0, valid: 0, rejected: 0 },
      });
      expect(summary.objects.total).toBe(0);
    }
    expect(emu.stats().requests.total).toBe(0);
  });

  it('a header-only CSV is an empty import too (the header is still checked)', async () => {
    await importFile(fixture('header-only.csv'), { code: 0, rows: { read: 0, valid: 0, rejected: 0 } });
    expect(emu.stats().requests.total).toBe(0);
  });

  it('duplicate header names: exit 2 with one line naming the column, before anything is sent', async () => {
    const line = refusedWithOneLine(await runCli(['run', fixture('duplicate-header.csv'), '--json'], env()));
    expect(line).toMatch(/duplicate-header\.csv: duplicate column name "email" \(columns 2 and 3\)$/);
  });

  it('no external_id column: exit 2 with one line listing the columns and --id-column', async () => {
    const line = refusedWithOneLine(await runCli(['run', fixture('no-external-id.csv'), '--json'], env()));
    expect(line).toMatch(
      /no-external-id\.csv: no "external_id" column in the header on line 1 \(columns: id, email\); use --id-column/,
    );
  });

  it('binary garbage: exit 2 with one line, not thousands of rejected "rows"', async () => {
    // Random bytes are no file anyone meant to import (a wrong path, an .xlsx, an image): refusing the
    // file says so at once, where rejecting every "row" would bury it in dead letters.
    const path = write('garbage.csv', pseudoRandomBytes(64 * 1024, 7));
    const line = refusedWithOneLine(await runCli(['run', path, '--json'], env()));
    expect(line).toMatch(/garbage\.csv does not look like CSV or JSONL text: \d+% of its first \d+ bytes/);
    const utf16 = write('utf16.csv', Buffer.from('\uFEFFexternal_id,name\nu1,Ann\n', 'utf16le'));
    expect(refusedWithOneLine(await runCli(['run', utf16, '--json'], env()))).toMatch(
      /utf16\.csv is UTF-16 text; convert it to UTF-8$/,
    );
  });

  it('a truncated .gz: exit 2 with one line, and not a single row of it was sent', async () => {
    // The whole file is decompressed once before the run starts, so the rows before the truncation
    // are not sent either: a half-imported file would be worse than none (fix the file, run again).
    const rows = Array.from({ length: 20_000 }, (_, i) => `g${i},user${i}@example.com`).join('\n');
    const gz = gzipSync(`external_id,email\n${rows}\n`);
    const path = write('truncated.csv.gz', gz.subarray(0, Math.floor(gz.length / 2)));
    const line = refusedWithOneLine(await runCli(['run', path, '--json'], env()));
    expect(line).toMatch(
      /cannot read .*truncated\.csv\.gz: gzip data is truncated or corrupt .*nothing was imported/,
    );
    expect(emu.getUser('g0')).toBeUndefined();
  });

  // Needs a fix in src/runs/import.ts (see the bad-input report): today a truncated gzip on stdin
  // fails mid-run with one line and exit 2, but the rows read before it were already sent, the run
  // stays "reading" forever and the rest of its queued jobs wait for any later worker.
  it('a truncated .gz on stdin: exit 2, and the summary says honestly what was sent', async () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => `s${i},user${i}@example.com`).join('\n');
    const gz = gzipSync(`external_id,email\n${rows}\n`);
    const child = startCli(['run', '-', '--json'], env());
    child.stdin?.end(gz.subarray(0, Math.floor(gz.length / 2)));
    const r = await child.result;
    expect(r.code).toBe(2);
    expect(r.stderr).not.toMatch(STACK_LINE);
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('braze-import: '));
    expect(errors).toEqual([expect.stringMatching(/gzip data is truncated or corrupt/)]);
    const summary = JSON.parse(r.stdout) as Summary;
    expect(summary.status).toBe('failed');
    expect(summary.rows.read).toBeGreaterThan(0);
    expect(summary.objects.accepted + summary.objects.failed + summary.objects.notAttempted).toBe(
      summary.objects.total,
    );
    expect(emu.stats().objects.accepted).toBe(summary.objects.accepted);
  });
});

describe('bad input: CSV structure', () => {
  it('a UTF-8 BOM is not part of the first column name', async () => {
    await importFile(fixture('bom.csv'), { code: 0, rows: { read: 2, valid: 2, rejected: 0 } });
    expectProfiles({ b1: { name: 'Ann' }, b2: { name: 'Zoë' } });
  });

  it('CRLF: no stray \\r in values, a CRLF inside quotes kept, blank lines counted', async () => {
    const { letters } = await importFile(fixture('crlf.csv'), {
      code: 3,
      rows: { read: 5, valid: 4, rejected: 1 },
    });
    expect(codes(letters)).toEqual([[8, 'ragged_row']]);
    expectProfiles({
      c1: { name: 'Ann', city: 'Oslo' },
      c2: { name: 'Bob\r\nJr', city: 'Rome' },
      c3: { name: 'Cy' },
      c4: { name: 'Di', city: 'Lima' },
    });
  });

  it('quoted newlines, commas and doubled quotes stay in the value; later lines keep their numbers', async () => {
    const { letters } = await importFile(fixture('quoted-newlines.csv'), {
      code: 3,
      rows: { read: 5, valid: 4, rejected: 1 },
    });
    // q3's value spans lines 5-8, so the row without an id is line 9.
    expect(codes(letters)).toEqual([[9, 'missing_external_id']]);
    expectProfiles({
      q1: { bio: 'line one\nline two', visits: 3 },
      q2: { bio: 'she said "hi", then left', visits: 4 },
      q3: { bio: 'a, b\nc, d\n\ne', visits: 5 },
      q4: { bio: 'plain', visits: 7 },
    });
  });

  it('unbalanced quotes cost their own line only: the rows after them are still delivered', async () => {
    const { letters } = await importFile(fixture('unbalanced-quotes.csv'), {
      code: 3,
      rows: { read: 9, valid: 5, rejected: 4 },
    });
    expect(codes(letters)).toEqual([
      [3, 'bad_csv'], // u2,"Bob  -- opened, and runs on until u4's quote
      [6, 'bad_csv'], // u5,Ed"s shop
      [7, 'bad_csv'], // u6,"Fay"by
      [9, 'bad_csv'], // u8,"Hal  -- never closed before the end of the file
    ]);
    expect(letters[0]?._error_message).toMatch(/closing quote is followed by "D".*line 3 was skipped/);
    expect(letters[1]?._error_message).toMatch(/column "name": a quote inside an unquoted value/);
    expect(letters[3]?._error_message).toMatch(/never closed/);
    expect(letters[1]?.['_record']).toBe('u5,Ed"s shop');
    expectProfiles({
      u1: { name: 'Ann' },
      u3: { name: 'Cy' },
      u4: { name: 'Di' },
      u7: { name: 'Gus' },
      u9: { name: 'Ivy' },
    });
  });

  it('ragged rows are dead letters with their cells under the header names', async () => {
    const { letters } = await importFile(fixture('ragged.csv'), {
      code: 3,
      rows: { read: 4, valid: 2, rejected: 2 },
    });
    expect(codes(letters)).toEqual([
      [3, 'ragged_row'],
      [4, 'ragged_row'],
    ]);
    expect(letters[1]).toMatchObject({ external_id: 'r3', name: 'Cy', age: '40', _extra_1: 'extra' });
    expect(letters[1]?._error_message).toBe('expected 3 cells like the header, got 4');
    expectProfiles({ r1: { name: 'Ann', age: 30 }, r4: { name: 'Di', age: 50 } });
  });

  it('a 10 MB CSV line is rejected on its own, with the reason; the rest is delivered', async () => {
    const path = write('long-line.csv', `external_id,name\nl1,Ann\nl2,${'x'.repeat(10 << 20)}\nl3,Cy\n`);
    const { letters } = await importFile(path, { code: 3, rows: { read: 3, valid: 2, rejected: 1 } });
    expect(codes(letters)).toEqual([[3, 'bad_csv']]);
    expect(letters[0]?._error_message).toMatch(/^row longer than 8388608 characters/);
    expectProfiles({ l1: { name: 'Ann' }, l3: { name: 'Cy' } });
  });
});

describe('bad input: bytes', () => {
  // Each file has four rows: rows 3 and 4 (lines 2 and 3 in JSONL) are the bad ones.
  it.each<{
    name: string;
    file: string;
    content: string | Buffer;
    lines: number[];
    messages: RegExp[];
    profiles: Record<string, Record<string, unknown>>;
  }>([
    {
      name: 'invalid UTF-8 rejects the row (never sent as replacement characters)',
      file: 'invalid-utf8.csv',
      content: Buffer.concat([
        Buffer.from('external_id,name\ne1,Zoë\ne2,B'),
        Buffer.from([0xff]),
        Buffer.from('ob\ne3,Jos'),
        Buffer.from([0xe9]), // Latin-1 "é"
        Buffer.from('\ne4,日本\n'),
      ]),
      lines: [3, 4],
      messages: [/^name is not valid UTF-8/],
      profiles: { e1: { name: 'Zoë' }, e4: { name: '日本' } },
    },
    {
      name: 'NUL bytes reject the row, in a value or in the id',
      file: 'nul.csv',
      content: 'external_id,name\nn1,Ann\nn2,B\0ob\nn3\0,Cy\nn4,Di\n',
      lines: [3, 4],
      messages: [/^name contains a NUL byte/, /^external_id contains a NUL byte/],
      profiles: { n1: { name: 'Ann' }, n4: { name: 'Di' } },
    },
    {
      name: 'JSONL: invalid UTF-8 and NUL bytes reject their line',
      file: 'encoding.jsonl',
      content: Buffer.concat([
        Buffer.from('{"external_id":"k1","name":"Zoë"}\n{"external_id":"k2","name":"B'),
        Buffer.from([0xc3, 0x28]), // a broken two-byte sequence
        Buffer.from('ob"}\n{"external_id":"k3","name":"x\0y"}\n{"external_id":"k4","name":"ok"}\n'),
      ]),
      lines: [2, 3],
      messages: [/not valid UTF-8/, /NUL byte/],
      profiles: { k1: { name: 'Zoë' }, k4: { name: 'ok' } },
    },
  ])('$name', async ({ file, content, lines, messages, profiles }) => {
    const { letters } = await importFile(write(file, content), {
      code: 3,
      rows: { read: 4, valid: 2, rejected: 2 },
    });
    expect(codes(letters)).toEqual(lines.map((line) => [line, 'bad_encoding']));
    for (const [i, message] of messages.entries()) expect(letters[i]?._error_message).toMatch(message);
    expectProfiles(profiles);
  });
});

describe('bad input: JSONL values', () => {
  it('arrays, bare values, __proto__, huge numbers, duplicate keys: one answer per line', async () => {
    const { letters, exported } = await importFile(fixture('structures.jsonl'), {
      code: 3,
      rows: { read: 16, valid: 4, rejected: 12 },
    });
    expect(codes(letters)).toEqual([
      [2, 'not_an_object'], // [1,2,3]
      [3, 'not_an_object'], // an array holding a user is still not a user
      [4, 'not_an_object'], // 42
      [5, 'not_an_object'], // "just a string"
      [6, 'not_an_object'], // null
      [7, 'forbidden_key'], // top-level __proto__
      [8, 'forbidden_key'], // attributes.__proto__
      [9, 'forbidden_key'], // nested __proto__
      [10, 'forbidden_key'], // constructor.prototype
      [11, 'bad_value'], // 12345678901234567890: JSON.parse already rounded it
      [12, 'bad_value'], // 2^53 + 1 arrives as 2^53
      [13, 'bad_value'], // 1e400 is Infinity
    ]);
    expect(letters[9]?._error_message).toMatch(/beyond 2\^53/);
    expect(letters[10]?._error_message).toMatch(/beyond 2\^53/);
    expect(letters[11]?._error_message).toMatch(/not a finite number/);
    // The export gives back each line as it was written, not as JSON.parse read it, so a fixed
    // file re-imports what the user wrote (1e400 must not turn into null, which would unset).
    const lineOf = (n: number) => exported.split('\n').find((l) => l.includes(`"_source_line":${n}}`));
    const source = readFileSync(fixture('structures.jsonl'), 'utf8').split('\n');
    for (const n of [11, 12, 13]) {
      expect(lineOf(n)).toContain(source[n - 1]!.trim().slice(1, -1));
    }
    expectProfiles({
      j1: { name: 'Ann', visits: 3 },
      safe: { n: 9007199254740991, f: 0.1 },
      // Duplicate keys: the last one wins, as in JSON.parse, Python's json, jq and Go. Rejecting them
      // would need a second tokenizer pass over every line; the files we get come from serializers.
      dup: { name: 'second' },
      j2: { name: 'Bob', tags: ['a', 'b'] },
    });

    // The same reader and validator, in this process: __proto__ keys pollute no prototype.
    const validate = createValidator({ format: 'jsonl' });
    for await (const row of await openSource(fixture('structures.jsonl'))) validate(row);
    expect(({} as Record<string, unknown>)['polluted']).toBeUndefined();
    expect(Object.hasOwn(Object.prototype, 'polluted')).toBe(false);
  });

  it('nesting 10,000 deep is a too_deep dead letter that keeps the line, not a crash', async () => {
    const deep = (open: string, close: string, n: number) => `${open.repeat(n)}1${close.repeat(n)}`;
    const lines = [
      '{"external_id":"d1","name":"ok"}',
      `{"external_id":"deep-arrays","a":${deep('[', ']', 10_000)}}`,
      `{"external_id":"deep-objects","o":${deep('{"a":', '}', 10_000)}}`,
      `{"external_id":"deep-braze","attributes":{"x":${deep('[', ']', 10_000)}}}`,
      `{"external_id":"deep-40","a":${deep('[', ']', 40)}}`,
      '{"external_id":"d2","name":"still here"}',
    ];
    const { letters } = await importFile(write('deep.jsonl', `${lines.join('\n')}\n`), {
      code: 3,
      rows: { read: 6, valid: 2, rejected: 4 },
    });
    expect(codes(letters)).toEqual([
      [2, 'too_deep'],
      [3, 'too_deep'],
      [4, 'too_deep'],
      [5, 'too_deep'],
    ]);
    expect(letters[0]?.['_record']).toBe(lines[1]);
    expect(letters[3]?._error_message).toMatch(/^a\[0\]\[0\].* is nested deeper than 32 levels/);
    expectProfiles({ d1: { name: 'ok' }, d2: { name: 'still here' } });
  });

  it('a 10 MB JSONL line is rejected on its own, with the reason; the rest is delivered', async () => {
    const big = `{"external_id":"l2","blob":"${'x'.repeat(10 << 20)}"}`;
    const path = write('long-line.jsonl', `{"external_id":"l1"}\n${big}\n{"external_id":"l3","name":"Cy"}\n`);
    const { letters } = await importFile(path, { code: 3, rows: { read: 3, valid: 2, rejected: 1 } });
    expect(codes(letters)).toEqual([[2, 'bad_json']]);
    expect(letters[0]?._error_message).toMatch(/^line longer than 8388608 characters/);
    expectProfiles({ l1: {}, l3: { name: 'Cy' } });
  });
});
