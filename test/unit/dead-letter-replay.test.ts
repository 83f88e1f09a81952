import { describe, expect, it } from 'vitest';
import type { DeadLetter } from '../../schemas/dead-letter.js';
import type { RawRow } from '../../schemas/record.js';
import { type ReplayStage, replayRows } from '../../src/dead-letter/replay.js';
import { createValidator, parseMapping } from '../../src/validate/index.js';

/**
 * Replaying rejected rows re-validates them exactly like a first import, so the validator must be
 * given the run's id column and mapping: a CSV keyed by user_id comes back as missing_external_id
 * without them (the defect of `dlq replay --include-rejected`; the flag is wired in jobs/).
 */

const letter = (line: number, values: Record<string, string>, code = 'bad_value'): DeadLetter => ({
  runId: 'r1',
  source: 'users.csv',
  line,
  stage: 'rejected',
  code,
  message: 'm',
  record: { format: 'csv', values },
  at: 0,
});

async function* letters(list: DeadLetter[]): AsyncGenerator<DeadLetter> {
  yield* list;
}

async function replay(list: DeadLetter[], options: Parameters<typeof createValidator>[0]) {
  const validate = createValidator({ format: 'csv', ...options });
  const out: unknown[] = [];
  const stages = new Set<ReplayStage>(['rejected', 'braze', 'exhausted']);
  for await (const row of replayRows(letters(list), stages)) out.push(validate(row as RawRow));
  return out;
}

describe('replaying rejected CSV rows', () => {
  const fixed = [
    letter(3, { user_id: 'u3', tags: '["a"]', n: '12' }),
    letter(9, { user_id: 'u9', tags: '[12]', n: '' }),
  ];

  it("with the run's id column: the rows validate as in the first import, arrays cast by their first character", async () => {
    expect(await replay(fixed, { idColumn: 'user_id' })).toEqual([
      { line: 3, externalId: 'u3', attributes: { tags: ['a'], n: 12 } },
      { line: 9, externalId: 'u9', attributes: { tags: [12] } },
    ]);
  });

  it('with the mapping that named the id column: the same', async () => {
    const mapping = parseMapping({ columns: { user_id: 'external_id' } });
    expect(await replay(fixed, { mapping })).toMatchObject([{ externalId: 'u3' }, { externalId: 'u9' }]);
  });

  it('without them every row comes back as missing_external_id (what dlq replay does today)', async () => {
    expect(await replay(fixed, {})).toMatchObject([
      { line: 3, code: 'missing_external_id' },
      { line: 9, code: 'missing_external_id' },
    ]);
  });
});
