import type { ImportInput } from './import.js';

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
