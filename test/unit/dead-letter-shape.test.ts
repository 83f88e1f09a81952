import { describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../schemas/dead-letter.js';
import { flatRow, jsonLine, jsonRow } from '../../src/dead-letter/shape.js';

const base = { runId: 'r', source: 'f', line: 7, stage: 'rejected' as const, code: 'c', message: 'm', at: 0 };
const errors = { _error_code: 'c', _error_message: 'm', _source_line: '7' };

describe('dead letters in the input shape', () => {
  it('CSV cells come back as they were read', () => {
    const dl: DeadLetter = { ...base, record: { format: 'csv', values: { external_id: 'u1', n: '007' } } };
    expect(flatRow(dl)).toEqual({ external_id: 'u1', n: '007', ...errors });
  });

  it('a Braze attributes object flattens to columns; values the reader casts back', () => {
    const value = { external_id: 'u1', attributes: { n: 7, ok: true, gone: null, tags: ['a', 'b'] } };
    const dl: DeadLetter = { ...base, stage: 'braze', record: { format: 'json', value } };
    expect(flatRow(dl)).toEqual({
      external_id: 'u1',
      n: '7',
      ok: 'true',
      gone: 'null',
      tags: '["a","b"]',
      ...errors,
    });
    expect(jsonRow(dl)).toEqual({ ...value, _error_code: 'c', _error_message: 'm', _source_line: 7 });
  });

  it('an unparsed line keeps its text; events have no flat shape', () => {
    expect(flatRow({ ...base, record: { format: 'json', value: 'u5,Ed"s shop' } })).toEqual({
      _record: 'u5,Ed"s shop',
      ...errors,
    });
    const event = { external_id: 'u1', events: [{ name: 'e', time: '2025-01-01' }] };
    expect(flatRow({ ...base, record: { format: 'json', value: event } })).toBeUndefined();
  });
});

describe('JSONL dead letters keep the line as written', () => {
  const letter = (text: string): DeadLetter => ({
    ...base,
    record: { format: 'json', value: JSON.parse(text), text },
  });
  const tail = '"_error_code":"c","_error_message":"m","_source_line":7}';

  it.each([
    ['a number beyond doubles', '{"external_id":"big3","n":1e400}'],
    ['an integer beyond 2^53', '{"external_id":"big1","n":12345678901234567890}'],
    ['a repeated key', '{"external_id":"dup","name":"first","name":"second"}'],
    ['spaces', '  { "external_id" : "s" , "n" : 1.50 }  '],
  ])('%s', (_, text) => {
    const line = jsonLine(letter(text));
    expect(line).toBe(`{${text.trim().slice(1, -1).trim()},${tail}`);
    expect(JSON.parse(line)).toMatchObject({ _error_code: 'c', _source_line: 7 });
  });

  it('an empty object, a letter without text, and a non-object fall back cleanly', () => {
    expect(jsonLine(letter('{}'))).toBe(`{${tail}`);
    const value = { external_id: 'u1', n: 2 };
    expect(jsonLine({ ...base, record: { format: 'json', value } })).toBe(
      JSON.stringify(jsonRow({ ...base, record: { format: 'json', value } })),
    );
    expect(JSON.parse(jsonLine(letter('[1,2]')))).toEqual({
      _record: [1, 2],
      _error_code: 'c',
      _error_message: 'm',
      _source_line: 7,
    });
  });
});
