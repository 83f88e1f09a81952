import type { Mapping } from '../../schemas/mapping.js';
import type { RawRow, Rejection, UserRecord } from '../../schemas/record.js';
import { type CsvPlan, compileCsvPlan, validateCsvRow } from './csv-row.js';
import { jsonContext, validateJsonValue } from './json-row.js';
import { resolveIdColumn } from './mapping.js';

/**
 * raw row -> UserRecord | Rejection. Pure: no I/O, no clock; the same input always gives the same
 * output. A file-level mistake (the mapping names a column the CSV lacks) throws a UsageError on the
 * first row instead of rejecting every row.
 */

export interface ValidatorOptions {
  mapping?: Mapping;
  /** --id-column: the source column (or flat JSONL key) holding external_id. */
  idColumn?: string;
  /** Informational: each raw row's `kind` decides how it is read. */
  format?: 'csv' | 'jsonl';
}

export type Validator = (raw: RawRow) => UserRecord | Rejection;

export function createValidator(options: ValidatorOptions = {}): Validator {
  const { mapping } = options;
  const idSource = resolveIdColumn(mapping, options.idColumn);
  const json = jsonContext(mapping, idSource);
  let plan: CsvPlan | undefined;
  return (raw) => {
    switch (raw.kind) {
      case 'csv':
        // Readers hand every row of a file the same header array, so this compiles once per file.
        if (plan === undefined || plan.header !== raw.header)
          plan = compileCsvPlan(raw.header, mapping, idSource);
        return validateCsvRow(raw, plan);
      case 'jsonl':
        return validateJsonValue(raw.line, raw.value, json);
      case 'error':
        return { line: raw.line, code: raw.code, message: raw.message, record: raw.raw };
    }
  };
}

export { dataPointsOfBody, estimateDataPoints } from './data-points.js';
export {
  createIdCollisionTracker,
  describeIdCollisions,
  type IdCollisionReport,
  type IdCollisionTracker,
} from './id-collisions.js';
export {
  checkMappingAgainstHeader,
  formatPath,
  parseMapping,
  parseMappingText,
  resolveIdColumn,
} from './mapping.js';
export { isRejection } from './rejection.js';
