import { Counter, collectDefaultMetrics, Gauge, Histogram, Registry } from 'prom-client';

/**
 * Request-level metrics of a sending process (`braze-import worker --metrics-port`), in Prometheus's
 * text format. Labelled by the kind of run a request belongs to (run, replay, sync, backfill), never
 * by run id: ids are unbounded, kinds are four. The sender reports through two wrappers, so its own
 * code does not change: `meterClient` (each HTTP request: status, latency, in flight, share of the
 * limit) and `meterProcessor` (what each attempt led to, counted exactly as the run record counts it).
 */
export interface SendMetrics {
  readonly registry: Registry;
  /** One request to Braze: its HTTP status (0 when no answer came), and how long it took. */
  recordRequest(kind: string, status: number, ms: number): void;
  /** A request started (+1) or ended (-1). */
  inFlight(delta: number): void;
  /** What an attempt led to, and the objects it settled (as the run record counts them). */
  recordOutcome(kind: string, outcome: string, settled?: { accepted?: number; failed?: number }): void;
  /** The kind of a run, looked up once per run (see control/run-kind.ts). */
  kindOf(runId: string): Promise<string>;
}

export interface SendMetricsOptions {
  /** Braze's limit, to report the share of it this process uses. */
  limit: { max: number; windowMs: number };
  kindOf: (runId: string) => Promise<string>;
  /** Process metrics (CPU, memory, event loop lag) as well; off in tests with many registries. */
  processMetrics?: boolean;
}

/** Latency buckets (s): Braze answers in 0.1–0.3 s when healthy; timeouts are 30 s by default. */
const BUCKETS = [0.025, 0.05, 0.1, 0.2, 0.3, 0.5, 0.75, 1, 2, 5, 10, 30];

export function createSendMetrics(o: SendMetricsOptions): SendMetrics {
  const registry = new Registry();
  if (o.processMetrics) collectDefaultMetrics({ register: registry, prefix: 'braze_import_' });
  const requests = new Counter({
    name: 'braze_import_requests_total',
    help: 'Requests sent to Braze /users/track, by run kind and HTTP status ("none": no answer)',
    labelNames: ['kind', 'status'],
    registers: [registry],
  });
  const rateLimited = new Counter({
    name: 'braze_import_rate_limited_total',
    help: 'Requests Braze answered with 429',
    labelNames: ['kind'],
    registers: [registry],
  });
  const retries = new Counter({
    name: 'braze_import_retries_total',
    help: 'Requests to be retried (5xx, 408, timeouts, resets)',
    labelNames: ['kind'],
    registers: [registry],
  });
  const accepted = new Counter({
    name: 'braze_import_objects_accepted_total',
    help: 'Objects Braze accepted',
    labelNames: ['kind'],
    registers: [registry],
  });
  const failed = new Counter({
    name: 'braze_import_objects_failed_total',
    help: 'Objects dead-lettered after an answer or after retries',
    labelNames: ['kind'],
    registers: [registry],
  });
  const latency = new Histogram({
    name: 'braze_import_request_duration_seconds',
    help: 'Time from sending a request to its answer (or its failure)',
    labelNames: ['kind'],
    buckets: BUCKETS,
    registers: [registry],
  });
  const inFlight = new Gauge({
    name: 'braze_import_requests_in_flight',
    help: 'Requests sent and not answered yet',
    registers: [registry],
  });
  // Request starts over the last window, oldest first: the share of Braze's limit this process used.
  const starts: number[] = [];
  new Gauge({
    name: 'braze_import_rate_limit_share',
    help: "Requests this process sent in the last window of Braze's limit, as a share of that limit",
    registers: [registry],
    collect() {
      const since = Date.now() - o.limit.windowMs;
      while (starts.length > 0 && (starts[0] ?? 0) < since) starts.shift();
      this.set(starts.length / o.limit.max);
    },
  });
  const kinds = new Map<string, Promise<string>>();
  return {
    registry,
    recordRequest(kind, status, ms) {
      requests.inc({ kind, status: status > 0 ? String(status) : 'none' });
      latency.observe({ kind }, ms / 1000);
    },
    inFlight(delta) {
      inFlight.inc(delta);
      if (delta > 0) {
        starts.push(Date.now());
        // Bounded: at most one limit's worth is ever counted.
        if (starts.length > o.limit.max * 2) starts.splice(0, starts.length - o.limit.max);
      }
    },
    recordOutcome(kind, outcome, settled) {
      if (outcome === 'rate-limited') rateLimited.inc({ kind });
      if (outcome === 'retry') retries.inc({ kind });
      if (settled?.accepted) accepted.inc({ kind }, settled.accepted);
      if (settled?.failed) failed.inc({ kind }, settled.failed);
    },
    kindOf(runId) {
      let kind = kinds.get(runId);
      if (!kind) {
        // A Redis that does not answer must not hold requests up: count them as plain runs then.
        let timer: NodeJS.Timeout | undefined;
        const late = new Promise<string>((_, reject) => {
          timer = setTimeout(() => reject(new Error('no answer')), 2000);
          timer.unref();
        });
        kind = Promise.race([o.kindOf(runId), late])
          .catch(() => {
            kinds.delete(runId);
            return 'run';
          })
          .finally(() => clearTimeout(timer));
        kinds.set(runId, kind);
        if (kinds.size > 1000) kinds.delete(kinds.keys().next().value as string);
      }
      return kind;
    },
  };
}

type Track = (body: string, signal?: AbortSignal) => Promise<{ status: number }>;

/** The client of one run, each request timed and counted (kind looked up before the first). */
export function meterClient<C extends { track: Track }>(
  metrics: SendMetrics | undefined,
  runId: string,
  client: C,
): C {
  if (!metrics) return client;
  const track: Track = async (body, signal) => {
    const kind = await metrics.kindOf(runId);
    const started = performance.now();
    metrics.inFlight(1);
    let status = 0;
    try {
      const answer = await client.track(body, signal);
      status = answer.status;
      return answer;
    } finally {
      metrics.inFlight(-1);
      metrics.recordRequest(kind, status, performance.now() - started);
    }
  };
  return { ...client, track } as C;
}

interface Outcome {
  kind: string;
  deltas?: { objectsAccepted?: number; objectsFailed?: number };
}

/** The processor of one run, each attempt's outcome counted as the worker counts it in the run record. */
export function meterProcessor<A extends unknown[], R extends Outcome>(
  metrics: SendMetrics | undefined,
  runId: string,
  processor: (...args: A) => Promise<R>,
): (...args: A) => Promise<R> {
  if (!metrics) return processor;
  return async (...args) => {
    const result = await processor(...args);
    const kind = await metrics.kindOf(runId);
    const settled =
      result.kind === 'settle'
        ? { accepted: result.deltas?.objectsAccepted, failed: result.deltas?.objectsFailed }
        : undefined;
    metrics.recordOutcome(kind, result.kind, settled);
    return result;
  };
}
