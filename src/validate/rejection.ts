import type { Rejection } from '../../schemas/record.js';
import type { Problem } from './checks.js';

/** A Rejection keeps the raw input so a dead letter can be exported or replayed as it came. */
export function rejectionOf(line: number, problem: Problem, record: unknown, externalId?: string): Rejection {
  const rejection: Rejection = { line, code: problem.code, message: problem.message, record };
  if (problem.field !== undefined) rejection.field = problem.field;
  if (externalId !== undefined) rejection.externalId = externalId;
  return rejection;
}

/** UserRecord | Rejection -> which one (a Rejection always has a code, a UserRecord never). */
export function isRejection(value: object): value is Rejection {
  return 'code' in value;
}
