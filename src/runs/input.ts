import { readFile } from 'node:fs/promises';
import type { Mapping } from '../../schemas/mapping.js';
import type { Rejection } from '../../schemas/record.js';
import { createChunker } from '../chunk/index.js';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import { openSource } from '../read/index.js';
import {
  checkMappingAgainstHeader,
  createValidator,
  estimateDataPoints,
  parseMappingText,
  resolveIdColumn,
} from '../validate/index.js';
import { fingerprintFile } from './fingerprint.js';
import type { ImportInput } from './import.js';

export interface InputFlags {
  format?: 'csv' | 'jsonl';
  delimiter?: string;
  mapping?: string;
  idColumn?: string;
}

export type OpenedInput = ImportInput & { format: 'csv' | 'jsonl' };

/** Wires reader, validator and chunker for one input; file-level problems are UsageErrors (exit 2). */
export async function openInput(file: string, flags: InputFlags, config: Config): Promise<OpenedInput> {
  const mapping = flags.mapping ? await loadMapping(flags.mapping) : undefined;
  const idColumn = resolveIdColumn(mapping, flags.idColumn);
  const source = await openSource(file, { format: flags.format, delimiter: flags.delimiter, idColumn });
  if (mapping && source.header) {
    // A mapping naming columns the file lacks is a file-level mistake: say so before any run starts.
    const problems = checkMappingAgainstHeader(mapping, source.header, idColumn);
    if (problems.length > 0) {
      source.close();
      throw new UsageError(problems);
    }
  }
  // Hashing the whole input takes ~0.1 s per 140 MB: runImport starts it alongside its other start-up work.
  const fingerprint =
    file === '-'
      ? undefined
      : () =>
          fingerprintFile(file, {
            mapping: mapping ?? null,
            format: source.format,
            delimiter: flags.delimiter ?? null,
            idColumn,
            maxObjects: config.braze.maxObjects,
            legacyPerArray: config.braze.legacyPerArray,
          });
  return {
    source: source.name,
    format: source.format,
    fingerprint,
    rows: source,
    validate: createValidator({ mapping, idColumn: flags.idColumn, format: source.format }),
    ...inputChunker(config),
    estimateDataPoints,
    header: () => source.header,
  };
}

/** The chunker for a run, with a place for the records too large for any request body. */
export function inputChunker(config: Config): {
  chunker: ReturnType<typeof createChunker>;
  chunkRejects: Rejection[];
} {
  const chunkRejects: Rejection[] = [];
  const chunker = createChunker({
    maxObjects: config.braze.maxObjects,
    legacyPerArray: config.braze.legacyPerArray,
    onReject: (r) => chunkRejects.push(r),
  });
  return { chunker, chunkRejects };
}

export async function loadMapping(path: string): Promise<Mapping> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--mapping: cannot read ${path} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
    );
  }
  return parseMappingText(text, path);
}

export interface DryRunReport {
  dryRun: true;
  source: string;
  rows: { read: number; valid: number; rejected: number };
  objects: number;
  requests: number;
  estimatedDataPoints: number;
  rejects: Array<{ line: number; code: string; message: string }>;
  text: string;
}

/** Reads, validates and chunks without sending: what a real run would send and what it would reject. */
export async function dryRun(input: ImportInput, maxRejectsShown = 20): Promise<DryRunReport> {
  const report: DryRunReport = {
    dryRun: true,
    source: input.source,
    rows: { read: 0, valid: 0, rejected: 0 },
    objects: 0,
    requests: 0,
    estimatedDataPoints: 0,
    rejects: [],
    text: '',
  };
  const count = (chunks: ReturnType<typeof input.chunker.flush>) => {
    for (const c of chunks) {
      report.requests++;
      report.objects +=
        (c.body.attributes?.length ?? 0) + (c.body.events?.length ?? 0) + (c.body.purchases?.length ?? 0);
    }
  };
  for await (const row of input.rows) {
    report.rows.read++;
    const r = input.validate(row);
    if ('code' in r) {
      report.rows.rejected++;
      if (report.rejects.length < maxRejectsShown)
        report.rejects.push({ line: r.line, code: r.code, message: r.message });
      continue;
    }
    report.rows.valid++;
    report.estimatedDataPoints += input.estimateDataPoints?.(r) ?? 0;
    count(input.chunker.push(r));
  }
  count(input.chunker.flush());
  const lines = [
    `Dry run of ${report.source}: nothing was sent.`,
    `Rows         ${report.rows.read} read, ${report.rows.valid} valid, ${report.rows.rejected} rejected`,
    `Would send   ${report.objects} objects in ${report.requests} requests (~${report.estimatedDataPoints} data points)`,
    ...report.rejects.map((x) => `  line ${x.line}: ${x.code}: ${x.message}`),
  ];
  if (report.rows.rejected > report.rejects.length)
    lines.push(`  ... and ${report.rows.rejected - report.rejects.length} more`);
  report.text = lines.join('\n');
  return report;
}
