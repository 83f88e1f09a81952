import type { z } from 'zod';
import { type ColumnSpec, type Mapping, mappingSchema, usedColumns } from '../../schemas/mapping.js';
import { UsageError } from '../errors.js';

/**
 * Loading and checking a mapping file. Pure: the caller reads the file; every problem is reported at
 * once, one line each, prefixed with where it is (`mapping.json: columns.zip.type: ...`).
 */

export function parseMappingText(text: string, name = 'mapping'): Mapping {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`${name}: not valid JSON (${(err as Error).message})`);
  }
  return parseMapping(json, name);
}

export function parseMapping(input: unknown, name = 'mapping'): Mapping {
  const parsed = mappingSchema.safeParse(input);
  if (parsed.success) return parsed.data;
  throw new UsageError(parsed.error.issues.map((issue) => `${name}: ${describeIssue(issue)}`));
}

function describeIssue(raw: z.core.$ZodIssue): string {
  const issue = unwrapUnion(raw);
  const where = issue.path.length > 0 ? formatPath(issue.path) : '(top level)';
  return `${where}: ${issueMessage(issue)}`;
}

/**
 * zod reports a failed union as "Invalid input"; the useful issue is inside the branch whose type
 * matched (for {"type": "text"} that is the object branch's "type" issue).
 */
function unwrapUnion(issue: z.core.$ZodIssue): z.core.$ZodIssue {
  if (issue.code !== 'invalid_union') return issue;
  const branches = issue.errors.filter((branch) => branch.length > 0);
  const typeMatched = branches.find((b) => !(b[0]!.code === 'invalid_type' && b[0]!.path.length === 0));
  const inner = (typeMatched ?? branches[0])?.[0];
  return inner ? unwrapUnion({ ...inner, path: [...issue.path, ...inner.path] }) : issue;
}

/** zod's own words, but from the inner issue when it only says "Invalid key in record". */
export function issueMessage(issue: z.core.$ZodIssue): string {
  if (issue.code === 'invalid_key' && issue.issues[0]) return issue.issues[0].message;
  return issue.message;
}

/** ['events', 0, 'time'] -> "events[0].time" */
export function formatPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out;
}

/** The mapping's spec for a source column; own properties only ("constructor" is not a spec). */
export function specOf(mapping: Mapping | undefined, column: string): ColumnSpec | undefined {
  const columns = mapping?.columns;
  return columns && Object.hasOwn(columns, column) ? columns[column] : undefined;
}

/**
 * The source column holding external_id: a column the mapping renames to external_id, else
 * `idColumn` (--id-column), else "external_id". Readers check that the file has it.
 */
export function resolveIdColumn(mapping: Mapping | undefined, idColumn?: string): string {
  for (const [source, spec] of Object.entries(mapping?.columns ?? {})) {
    if (!('drop' in spec && spec.drop) && spec.rename === 'external_id') return source;
  }
  return idColumn ?? 'external_id';
}

/** Columns the mapping's events and purchases read. */
export function eventColumns(mapping: Mapping | undefined): Set<string> {
  const used = new Set<string>();
  for (const spec of [...(mapping?.events ?? []), ...(mapping?.purchases ?? [])]) {
    for (const [column] of usedColumns(spec)) used.add(column);
  }
  return used;
}

/**
 * File-level problems between a mapping and a CSV header: a mapped column the file lacks (a typo
 * would otherwise silently send nothing), a second column that would become "external_id", or two
 * columns that would be sent as one attribute (only one value could reach Braze).
 */
export function checkMappingAgainstHeader(
  mapping: Mapping | undefined,
  header: readonly string[],
  idColumn: string,
): string[] {
  const problems: string[] = [];
  const have = new Set(header);
  const shown = header.length > 12 ? `${header.slice(0, 12).join(', ')}, …` : header.join(', ');
  const missing = (column: string, where: string) =>
    problems.push(
      `mapping: ${where} names column "${column}", which the file does not have (columns: ${shown})`,
    );
  for (const column of Object.keys(mapping?.columns ?? {})) {
    if (!have.has(column)) missing(column, `columns.${column}`);
  }
  mapping?.events?.forEach((e, i) => {
    for (const [column, path] of usedColumns(e))
      if (!have.has(column)) missing(column, formatPath(['events', i, ...path]));
  });
  mapping?.purchases?.forEach((p, i) => {
    for (const [column, path] of usedColumns(p)) {
      if (!have.has(column)) missing(column, formatPath(['purchases', i, ...path]));
    }
  });
  problems.push(...targetProblems(mapping, header, idColumn));
  return problems;
}

/** Columns sent as the same attribute, or as external_id beside the id column: one line each. */
function targetProblems(mapping: Mapping | undefined, header: readonly string[], idColumn: string): string[] {
  const problems: string[] = [];
  const usedByEvents = eventColumns(mapping);
  const sources = new Map<string, string[]>();
  for (const column of header) {
    if (column === idColumn) continue;
    const spec = specOf(mapping, column);
    if (spec && 'drop' in spec && spec.drop) continue;
    const target = spec?.rename ?? column;
    if (target === 'external_id') {
      problems.push(
        `column "${column}" would be sent as external_id, but the id comes from "${idColumn}"; drop or rename it`,
      );
      continue;
    }
    const also = spec !== undefined && 'alsoAttribute' in spec && spec.alsoAttribute === true;
    if (usedByEvents.has(column) && !also) continue;
    sources.set(target, [...(sources.get(target) ?? []), column]);
  }
  for (const [target, columns] of sources) {
    if (columns.length < 2) continue;
    const named = columns.map((c) => `"${c}"`).join(' and ');
    problems.push(
      `mapping: columns ${named} would both be sent as the attribute "${target}" (a rename onto a column the file has); drop or rename one of them`,
    );
  }
  return problems;
}
