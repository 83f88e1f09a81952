import { afterEach, describe, expect, it } from 'vitest';
import { runCli, serveCli, stopCli } from '../helpers/cli.js';
import { useEmulator } from '../helpers/emulator.js';
import { writeCsv } from '../helpers/files.js';
import { scrape, total } from '../helpers/prometheus.js';
import { waitFor } from '../helpers/wait.js';

const KEY = 'metrics-test-key';
// Slow enough to be watched, with 5xx answers and 429 bursts so that retries and 429s are counted too.
const emu = useEmulator(KEY, {
  seed: 7,
  faults: { latencyMs: 30, failRate: 0.06, burst429Every: 25, burst429Length: 2, burst429RetryAfterS: 1 },
});

const children: Array<Parameters<typeof stopCli>[0]> = [];
afterEach(async () => {
  for (const c of children.splice(0)) await stopCli(c);
});

/** Starts a long-lived command and resolves with what `pick` finds in its output (its URL). */
async function serve(args: string[], env: NodeJS.ProcessEnv, pick: RegExp): Promise<string> {
  const { child, found } = await serveCli(args, env, pick);
  children.push(child);
  return found;
}

describe('metrics', () => {
  it("move during a fleet run, and at its end the dashboard's and the worker's match its summary", async () => {
    const env = emu.env({ LOG_LEVEL: 'info' });
    const dashboard = await serve(['dashboard', '--port', '0'], env, /Dashboard on (http:\/\/\S+)\n/);
    const worker = await serve(
      ['worker', '--concurrency', '4', '--metrics-port', '0'],
      env,
      /"url":"(http:\/\/127\.0\.0\.1:\d+)".*"msg":"metrics served"/,
    );
    // Healthy once its sender runs (metrics are served from before that).
    await waitFor(async () => (await fetch(`${worker}/healthz`)).status === 200, 30_000, 100);
    const { path } = writeCsv(emu.dir, 8000, 81, 0.01);
    const enqueued = await runCli(['run', path, '--enqueue-only', '--run-id', 'metered'], env);
    expect(enqueued.code).toBe(0);

    // Moving: two scrapes of each, while the run is still sending, the second higher than the first.
    const seen = { dashboard: [] as number[], worker: [] as number[] };
    await waitFor(
      async () => {
        const [d, w] = await Promise.all([scrape(`${dashboard}/metrics`), scrape(`${worker}/metrics`)]);
        const status = JSON.parse((await runCli(['status', 'metered', '--json'], env)).stdout) as {
          status: string;
        };
        if (status.status !== 'sending') return true;
        seen.dashboard.push(total(d, 'braze_import_objects_accepted_total', { kind: 'run' }));
        seen.worker.push(total(w, 'braze_import_requests_total', { kind: 'run' }));
        return (
          seen.worker.length >= 2 &&
          seen.worker.at(-1)! > seen.worker[0]! &&
          seen.dashboard.at(-1)! > seen.dashboard[0]!
        );
      },
      120_000,
      300,
    );
    expect(seen.worker.at(-1)).toBeGreaterThan(seen.worker[0] ?? 0);
    expect(seen.dashboard.at(-1)).toBeGreaterThan(seen.dashboard[0] ?? 0);

    const status = await runCli(['status', 'metered', '--watch', '--json'], env);
    expect([0, 3]).toContain(status.code);
    const s = JSON.parse(status.stdout.trim().split('\n').at(-1) ?? '{}') as {
      rows: { read: number; rejected: number };
      objects: { accepted: number; failed: number };
      requests: { sent: number; retried: number; rateLimited: number };
      possibleDuplicates: number;
    };
    // The comparison is only worth something if every kind of outcome happened.
    expect(s.requests.rateLimited).toBeGreaterThan(0);
    expect(s.requests.retried).toBeGreaterThan(0);
    expect(s.rows.rejected).toBeGreaterThan(0);

    const d = await scrape(`${dashboard}/metrics`);
    const run = { kind: 'run' };
    expect({
      rowsRead: total(d, 'braze_import_rows_read_total', run),
      rowsRejected: total(d, 'braze_import_rows_rejected_total', run),
      accepted: total(d, 'braze_import_objects_accepted_total', run),
      failed: total(d, 'braze_import_objects_failed_total', run),
      requests: total(d, 'braze_import_requests_total', run),
      retried: total(d, 'braze_import_retries_total', run),
      rateLimited: total(d, 'braze_import_rate_limited_total', run),
      duplicates: total(d, 'braze_import_possible_duplicates_total', run),
      runs: total(d, 'braze_import_runs', run),
      queued: total(d, 'braze_import_queue_jobs', run),
    }).toEqual({
      rowsRead: s.rows.read,
      rowsRejected: s.rows.rejected,
      accepted: s.objects.accepted,
      failed: s.objects.failed,
      requests: s.requests.sent,
      retried: s.requests.retried,
      rateLimited: s.requests.rateLimited,
      duplicates: s.possibleDuplicates,
      runs: 1,
      queued: 0,
    });
    // Nothing counted under another kind.
    expect(total(d, 'braze_import_requests_total', { kind: 'sync' })).toBe(0);

    const w = await scrape(`${worker}/metrics`);
    expect({
      requests: total(w, 'braze_import_requests_total', run),
      timed: total(w, 'braze_import_request_duration_seconds_count', run),
      rateLimited: total(w, 'braze_import_rate_limited_total', run),
      status429: total(w, 'braze_import_requests_total', { kind: 'run', status: '429' }),
      retried: total(w, 'braze_import_retries_total', run),
      accepted: total(w, 'braze_import_objects_accepted_total', run),
      failed: total(w, 'braze_import_objects_failed_total', run),
      inFlight: total(w, 'braze_import_requests_in_flight'),
    }).toEqual({
      requests: s.requests.sent,
      timed: s.requests.sent,
      rateLimited: s.requests.rateLimited,
      status429: s.requests.rateLimited,
      retried: s.requests.retried,
      accepted: s.objects.accepted,
      failed: s.objects.failed,
      inFlight: 0,
    });
    expect(total(w, 'braze_import_requests_total', { kind: 'run', status: '201' })).toBeGreaterThan(0);
    expect(total(w, 'braze_import_rate_limit_share')).toBeGreaterThanOrEqual(0);
  });
});
