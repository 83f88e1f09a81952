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
  parseMappingText,
  resolveIdColumn,
} from '../validate/index.js';
import { fingerprintFile } from './fingerprint.js';
import type { ImportInput } from './import.js';

/**
 * Chunks of one lane that may be under way beyond the last finished, less one: with 16 lanes, up to
 * 784 requests in flight for a run whose users do not repeat. A lane's window moves only when its
 * oldest chunk under way finishes, so with jittered answers a lane waits on its slowest request:
 * with a window of 16 (272 in flight), a Braze answering in 300 +/- 100 ms got 0.44 of 3,000/3 s and
 * one answering in 150 +/- 50 ms 0.68-0.83; with 48, 0.84 and 0.86 (1M rows, one run each). The
 * window costs the producer no CPU measurable and ~6 MB (its recent-users tables, typed arrays); more
 * lanes would cost it GC: a row's objects live until its lane's chunk is full, and with 64 lanes
 * young-generation GC took 75% longer (200k rows: 3.66 user-s against 3.13 with 16 and 3.06 with
 * one; 32 lanes: 6.6% more CPU for 1M rows).
 */
export const LANE_WINDOW = 48;

export interface InputFlags {
  format?: 'csv' | 'jsonl';
  delimiter?: string;
  mapping?: string;
  idColumn?: string;
  /** The Braze endpoint the chunks are for: /users/track (default) or /users/track/bulk. */
  endpoint?: 'track' | 'bulk';
}

/** /users/track/bulk: 1,000 objects, 2 MB (kept under 2 MiB with room to spare), 100 of one user. */
export const BULK_LIMITS = { maxObjects: 1000, maxBytes: 2_000_000, maxPerUser: 100 } as const;

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
            lanes: config.lanes,
            window: LANE_WINDOW,
            ...(flags.endpoint === 'bulk' ? { endpoint: 'bulk' } : {}),
          });
  return {
    source: source.name,
    format: source.format,
    fingerprint,
    rows: source.batches,
    size: source.size,
    bytesRead: () => source.bytesRead,
    validate: createValidator({ mapping, idColumn: flags.idColumn, format: source.format }),
    ...inputChunker(config, flags.endpoint),
    idColumn: flags.idColumn,
    mapping,
    header: () => source.header,
  };
}

/** The chunker for a run, with a place for the records too large for any request body. */
export function inputChunker(
  config: Config,
  endpoint: 'track' | 'bulk' = 'track',
): {
  chunker: ReturnType<typeof createChunker>;
  chunkRejects: Rejection[];
} {
  const chunkRejects: Rejection[] = [];
  const chunker = createChunker({
    ...(endpoint === 'bulk'
      ? BULK_LIMITS
      : { maxObjects: config.braze.maxObjects, legacyPerArray: config.braze.legacyPerArray }),
    lanes: config.lanes,
    window: LANE_WINDOW,
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
