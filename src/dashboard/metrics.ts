import { Counter, Gauge, Registry } from 'prom-client';
import { type RunControl, withRunQueue } from '../control/run-actions.js';
import { kindOf, RUN_KINDS } from '../control/run-kind.js';
import { isCompleted, type RunRecord, runKeys } from '../runs/store.js';
import { summarize } from '../runs/summary.js';

/** Run-record counters exported as Prometheus counters, by run kind. */
const COUNTED = {
  rows_read: ['rowsRead', 'Rows read from inputs'],
  rows_rejected: ['rowsRejected', 'Rows our validation rejected'],
  objects_accepted: ['objectsAccepted', 'Objects Braze accepted'],
  objects_failed: ['objectsFailed', 'Objects dead-lettered after an answer or after retries'],
  requests: ['requestsSent', 'Requests sent to Braze /users/track'],
  rate_limited: ['requestsRateLimited', 'Requests Braze answered with 429'],
  retries: ['requestsRetried', 'Requests to be retried (5xx, 408, timeouts, resets)'],
  possible_duplicates: ['possibleDuplicates', 'Chunks that may have reached Braze twice'],
} as const satisfies Record<string, [keyof RunRecord, string]>;
type Name = keyof typeof COUNTED;

const QUEUE_STATES = ['waiting', 'active', 'delayed', 'prioritized', 'failed'] as const;

export interface DashboardMetrics {
  registry: Registry;
  /** Reads the recent runs and brings every metric up to date; then the registry is current. */
  update(): Promise<void>;
}

/**
 * The dashboard's /metrics, from what every run records in Redis (so they cover every process that
 * sends): counters by kind that never go down (each run's counts are added as they grow, including
 * runs that started before the dashboard), runs by status, chunks queued by state, requests in
 * flight, and the share of Braze's limit in use. Request latency and HTTP statuses are only known
 * where requests are made: `braze-import worker --metrics-port`.
 */
export function createDashboardMetrics(
  c: RunControl,
  limit: { max: number; windowMs: number },
  listed = 100,
): DashboardMetrics {
  const registry = new Registry();
  const counters = Object.fromEntries(
    Object.entries(COUNTED).map(([name, [, help]]) => [
      name,
      new Counter({ name: `braze_import_${name}_total`, help, labelNames: ['kind'], registers: [registry] }),
    ]),
  ) as Record<Name, Counter<'kind'>>;
  // Every kind's series exists from the start (at 0): a rate() over a series that appears later misses its first step.
  for (const counter of Object.values(counters)) for (const kind of RUN_KINDS) counter.inc({ kind }, 0);
  const runsGauge = new Gauge({
    name: 'braze_import_runs',
    help: 'Recent runs by kind and status',
    labelNames: ['kind', 'status'],
    registers: [registry],
  });
  const queued = new Gauge({
    name: 'braze_import_queue_jobs',
    help: 'Chunks in run queues by kind and state',
    labelNames: ['kind', 'state'],
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'braze_import_requests_in_flight',
    help: 'Requests without an answer yet, by kind',
    labelNames: ['kind'],
    registers: [registry],
  });
  const share = new Gauge({
    name: 'braze_import_rate_limit_share',
    help: "Requests per window of Braze's limit, as a share of it, by kind (since the last scrape)",
    labelNames: ['kind'],
    registers: [registry],
  });
  /** The highest counts seen of each run (a resume recounts from zero: never count twice). */
  const seen = new Map<string, Record<Name, number>>();
  const lastRequests = new Map<string, { at: number; sent: number }>();

  const count = (run: RunRecord, kind: string) => {
    const before = seen.get(run.runId);
    const now = {} as Record<Name, number>;
    for (const [name, [field]] of Object.entries(COUNTED) as Array<[Name, [keyof RunRecord, string]]>) {
      const value = Number(run[field] ?? 0);
      const prev = before?.[name] ?? 0;
      now[name] = Math.max(prev, value);
      if (value > prev) counters[name].inc({ kind }, value - prev);
    }
    seen.set(run.runId, now);
  };

  let updating: Promise<void> | undefined;
  return {
    registry,
    // Scrapes that overlap share one update: two at once would add the gauges up twice.
    update() {
      updating ??= update().finally(() => {
        updating = undefined;
      });
      return updating;
    },
  };

  async function update() {
    const records = await c.runs.recent(listed);
    runsGauge.reset();
    queued.reset();
    inFlight.reset();
    share.reset();
    const at = Date.now();
    await Promise.all(
      records.map(async (run) => {
        const kind = kindOf(run);
        count(run, kind);
        const status = summarize(run, at).status;
        runsGauge.inc({ kind, status });
        const prev = lastRequests.get(run.runId);
        lastRequests.set(run.runId, { at, sent: run.requestsSent });
        if (prev && at > prev.at)
          share.inc({ kind }, ((run.requestsSent - prev.sent) * limit.windowMs) / (at - prev.at) / limit.max);
        if (isCompleted(run.status) || run.status === 'cancelled') return;
        const [counts, flying] = await Promise.all([
          withRunQueue(c, run.runId, (q) => q.getJobCounts(...QUEUE_STATES)),
          c.redis.scard(runKeys(c.prefix, run.runId).inflight),
        ]);
        for (const state of QUEUE_STATES) queued.inc({ kind, state }, counts[state] ?? 0);
        inFlight.inc({ kind }, flying);
      }),
    );
    // Runs that left the list (past retention) keep their counted values; forget their state.
    const listedIds = new Set(records.map((r) => r.runId));
    for (const id of seen.keys()) if (!listedIds.has(id)) seen.delete(id);
    for (const id of lastRequests.keys()) if (!listedIds.has(id)) lastRequests.delete(id);
  }
}
