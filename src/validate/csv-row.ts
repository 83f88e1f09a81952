import type { ColumnType, Mapping } from '../../schemas/mapping.js';
import { csvValues, type RawRow, type Rejection, type UserRecord } from '../../schemas/record.js';
import { UsageError } from '../errors.js';
import { checkAttribute } from './attribute-rules.js';
import { castAuto, castForced, castText, OMIT } from './cast.js';
import { checkExternalId, checkKey, Problem } from './checks.js';
import { buildEvents, buildPurchases, type RowReader } from './events.js';
import { checkMappingAgainstHeader, eventColumns, specOf } from './mapping.js';
import { hasFieldRule, TEXT_FIELDS } from './profile-fields.js';
import { rejectionOf } from './rejection.js';

/**
 * The fast path for CSV rows: the header and mapping are compiled once into a plan, then each row
 * is a loop over precomputed column steps (no zod on the hot path; same rules, see checks.ts).
 */

interface ColumnStep {
  source: string;
  /** The source column's position in the header (a row's cells are by position). */
  at: number;
  target: string;
  /** 'text': an untyped column that fills a text profile field (a phone stays "15551234567"). */
  type: ColumnType | 'text';
  /** The target is a profile field Braze checks (profile-fields.ts). */
  fieldRule: boolean;
  separator: string | undefined;
  /** Set when the attribute name itself is unusable: the row is refused only if the cell is filled. */
  nameProblem: Problem | undefined;
}

export interface CsvPlan {
  header: readonly string[];
  idSource: string;
  /** The id column's position in the header. */
  idAt: number;
  /** Every column's position by name, for event and purchase properties. */
  positions: Map<string, number>;
  attributes: ColumnStep[];
  /** Every column's cast rule by source name, for event and purchase properties. */
  bySource: Map<string, ColumnStep>;
  mapping: Mapping | undefined;
  hasEvents: boolean;
}

export function compileCsvPlan(
  header: readonly string[],
  mapping: Mapping | undefined,
  idSource: string,
): CsvPlan {
  const problems = checkMappingAgainstHeader(mapping, header, idSource);
  if (problems.length > 0) throw new UsageError(problems);
  const usedByEvents = eventColumns(mapping);
  const attributes: ColumnStep[] = [];
  const bySource = new Map<string, ColumnStep>();
  const positions = new Map<string, number>();
  for (const [at, source] of header.entries()) {
    if (!positions.has(source)) positions.set(source, at);
    if (source === idSource) continue;
    const spec = specOf(mapping, source);
    if (spec && 'drop' in spec && spec.drop) continue;
    const target = spec?.rename ?? source;
    const type = (spec && 'type' in spec && spec.type) || 'auto';
    const step: ColumnStep = {
      source,
      at,
      target,
      type: type === 'auto' && TEXT_FIELDS.has(target) ? 'text' : type,
      fieldRule: hasFieldRule(target),
      separator: spec && 'separator' in spec ? spec.separator : undefined,
      nameProblem: checkKey(target, source),
    };
    bySource.set(source, step);
    const also = spec !== undefined && 'alsoAttribute' in spec && spec.alsoAttribute === true;
    if (!usedByEvents.has(source) || also) attributes.push(step);
  }
  const hasEvents = (mapping?.events?.length ?? 0) + (mapping?.purchases?.length ?? 0) > 0;
  return {
    header,
    idSource,
    idAt: positions.get(idSource) ?? -1,
    positions,
    attributes,
    bySource,
    mapping,
    hasEvents,
  };
}

function castCell(cell: string, step: ColumnStep): unknown {
  if (step.type === 'auto') return castAuto(cell, step.source);
  if (step.type === 'text') return castText(cell, step.source);
  return castForced(cell, step.type, step.source, step.separator);
}

type CsvRow = Extract<RawRow, { kind: 'csv' }>;

/** The row refused, its cells named for its dead letter (built only for a refused row). */
function refuse(row: CsvRow, problem: Problem, externalId?: string): Rejection {
  return rejectionOf(row.line, problem, csvValues(row), externalId);
}

export function validateCsvRow(row: CsvRow, plan: CsvPlan): UserRecord | Rejection {
  const cells = row.cells;
  const externalId = cells[plan.idAt];
  const idProblem = checkExternalId(externalId, plan.idSource);
  if (idProblem || externalId === undefined) return refuse(row, idProblem!);
  const attributes: Record<string, unknown> = {};
  let count = 0;
  const steps = plan.attributes;
  for (let i = 0; i < steps.length; i++) {
    const step = steps[i]!;
    const cell = cells[step.at];
    if (cell === undefined || cell === '') continue;
    const value = castCell(cell, step);
    if (value === OMIT) continue;
    if (value instanceof Problem) return refuse(row, value, externalId);
    if (step.nameProblem) return refuse(row, step.nameProblem, externalId);
    if (step.fieldRule || (typeof value === 'object' && value !== null)) {
      const problem = checkAttribute(step.target, value, step.source);
      if (problem) return refuse(row, problem, externalId);
    }
    attributes[step.target] = value;
    count++;
  }
  if (!plan.hasEvents) return { line: row.line, externalId, attributes };
  return withEvents(row, plan, externalId, count > 0 ? attributes : undefined);
}

function withEvents(
  row: CsvRow,
  plan: CsvPlan,
  externalId: string,
  attributes: Record<string, unknown> | undefined,
): UserRecord | Rejection {
  const cells = row.cells;
  const cellOf = (column: string): string | undefined => {
    const at = plan.positions.get(column);
    return at === undefined ? undefined : cells[at];
  };
  const reader: RowReader = {
    raw: cellOf,
    cast: (column) => {
      const cell = cellOf(column);
      const step = plan.bySource.get(column);
      if (cell === undefined) return OMIT;
      return step ? castCell(cell, step) : castAuto(cell, column);
    },
  };
  const events = buildEvents(plan.mapping?.events ?? [], reader);
  if (events instanceof Problem) return refuse(row, events, externalId);
  const purchases = buildPurchases(plan.mapping?.purchases ?? [], reader);
  if (purchases instanceof Problem) return refuse(row, purchases, externalId);
  const record: UserRecord = { line: row.line, externalId };
  // A row with nothing else still sends {external_id}: it creates or touches the profile.
  if (attributes || (events.length === 0 && purchases.length === 0)) record.attributes = attributes ?? {};
  if (events.length > 0) record.events = events;
  if (purchases.length > 0) record.purchases = purchases;
  return record;
}
