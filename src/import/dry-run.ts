import type { RateLimit } from '../../schemas/config.js';
import type { Rejection } from '../../schemas/record.js';
import { DEFAULT_SLACK_MS, durationNote } from '../send/limiter.js';
import { createIdCollisionTracker, describeIdCollisions, type IdCollisionReport } from '../validate/index.js';
import type { ImportInput } from './import.js';

export interface DryRunReport {
  dryRun: true;
  source: string;
  rows: { read: number; valid: number; rejected: number };
  objects: number;
  requests: number;
  /** What Braze would bill for the bodies a run would send (the emulator counts the same way). */
  estimatedDataPoints: number;
  rejects: Array<{ line: number; code: string; message: string }>;
  idCollisions: IdCollisionReport;
  text: string;
}

/**
 * Reads, validates and chunks without sending: what a real run would send and what it would reject,
 * counted exactly as a run counts it (records the chunker refuses are rejected rows here too).
 */
export async function dryRun(
  input: ImportInput,
  limits: readonly RateLimit[],
  maxRejectsShown = 20,
  slackMs = DEFAULT_SLACK_MS,
): Promise<DryRunReport> {
  const ids = createIdCollisionTracker();
  const report: Omit<DryRunReport, 'idCollisions'> = {
    dryRun: true,
    source: input.source,
    rows: { read: 0, valid: 0, rejected: 0 },
    objects: 0,
    requests: 0,
    estimatedDataPoints: 0,
    rejects: [],
    text: '',
  };
  const reject = (r: Pick<Rejection, 'line' | 'code' | 'message'>) => {
    report.rows.rejected++;
    if (report.rejects.length < maxRejectsShown)
      report.rejects.push({ line: r.line, code: r.code, message: r.message });
  };
  const count = (chunks: ReturnType<typeof input.chunker.flush>) => {
    for (const c of chunks) {
      report.requests++;
      report.objects += c.objects;
      report.estimatedDataPoints += c.dataPoints;
    }
    // A record too large for any request body: valid, but refused by the chunker, as in a run.
    for (const refused of input.chunkRejects?.splice(0) ?? []) {
      report.rows.valid--;
      reject(refused);
    }
  };
  for await (const rows of input.rows) {
    for (const row of rows) {
      report.rows.read++;
      const r = input.validate(row);
      if ('code' in r) {
        reject(r);
        continue;
      }
      report.rows.valid++;
      ids.observe(r.externalId, r.line);
      count(input.chunker.push(r));
    }
  }
  if (input.tail) for await (const rec of input.tail()) count(input.chunker.push(rec));
  count(input.chunker.flush());
  const idCollisions = ids.report();
  const lines = [
    `Dry run of ${report.source}: nothing was sent.`,
    `Rows         ${report.rows.read} read, ${report.rows.valid} valid, ${report.rows.rejected} rejected`,
    `Would send   ${report.objects} objects in ${report.requests} requests (~${report.estimatedDataPoints} data points)`,
    `Would take   ${durationNote(report.requests, limits, slackMs)}`,
    ...describeIdCollisions(idCollisions),
    ...report.rejects.map((x) => `  line ${x.line}: ${x.code}: ${x.message}`),
  ];
  if (report.rows.rejected > report.rejects.length)
    lines.push(`  ... and ${report.rows.rejected - report.rejects.length} more`);
  return { ...report, idCollisions, text: lines.join('\n') };
}
