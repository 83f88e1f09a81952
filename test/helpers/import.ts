import type { RawRow } from '../../schemas/record.js';
import { type Config, loadConfig } from '../../src/config.js';
import type { ImportInput } from '../../src/import/import.js';
import { inputChunker } from '../../src/import/input.js';
import { silentLogger } from '../../src/infra/logger.js';
import { createValidator } from '../../src/validate/index.js';
import { uniquePrefix } from './redis.js';

/** A config for tests: its own key prefix, so test files never see each other's queues. */
export function testConfig(env: Record<string, string> = {}): Config {
  return loadConfig({ BRAZE_IMPORT_PREFIX: uniquePrefix('bi'), ...env });
}

/** JSONL rows of these values, as a reader hands them on: in batches (of up to `per` rows). */
export async function* jsonlRows(values: unknown[], per = 7): AsyncGenerator<readonly RawRow[]> {
  let line = 0;
  for (let i = 0; i < values.length; i += per)
    yield values.slice(i, i + per).map((value) => ({ line: ++line, kind: 'jsonl', value }) as RawRow);
}

export function jsonInput(values: unknown[], config: Config): ImportInput {
  return {
    source: 'test.jsonl',
    rows: jsonlRows(values),
    validate: createValidator({ format: 'jsonl' }),
    ...inputChunker(config),
  };
}

export const quietLog = silentLogger();
