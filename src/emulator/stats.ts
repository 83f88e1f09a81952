/**
 * Counters for GET /_emulator/stats. Pure: the caller passes timestamps. The top-level counts are totals
 * over every endpoint, except the ones named after /users/track (`requests.track`, `maxTrack*`,
 * `*TrackAt`); `endpoints` holds the same counts for each Braze path on its own.
 */
import { WindowMax } from './rate-limit.js';

export const TRACK_WINDOW_MS = 3000;

export interface FaultCounts {
  burst429: number;
  failed: number;
  resetBeforeApply: number;
  resetAfterApply: number;
  slow: number;
  queued: number;
}

/** Count, least, greatest and mean of a series of delays (ms); min and max are 0 before any. */
export interface DelaySummary {
  count: number;
  min: number;
  max: number;
  mean: number;
}

/** Summarises delays as they come, in constant memory. */
class DelaySeries {
  private n = 0;
  private lo = Number.POSITIVE_INFINITY;
  private hi = Number.NEGATIVE_INFINITY;
  private sum = 0;

  add(ms: number): void {
    this.n++;
    this.sum += ms;
    if (ms < this.lo) this.lo = ms;
    if (ms > this.hi) this.hi = ms;
  }

  summary(): DelaySummary {
    if (this.n === 0) return { count: 0, min: 0, max: 0, mean: 0 };
    return { count: this.n, min: this.lo, max: this.hi, mean: this.sum / this.n };
  }
}

/** Objects of the requests one endpoint processed (past its envelope checks), and what they were billed. */
export interface EndpointObjects {
  accepted: number;
  rejected: number;
  attributes: number;
  events: number;
  purchases: number;
  notApplied: number;
  /** Most objects (valid or not, all three arrays) in one request that passed the envelope checks. */
  maxPerRequest: number;
}

/** One Braze path's counts: `GET /_emulator/stats` -> `endpoints["/users/track/bulk"]`. */
export interface EndpointSnapshot {
  /** Requests that arrived at this path, whatever the answer (401, 403 and 429 included). */
  requests: number;
  /**
   * Requests past auth, permission, injected 429s and the rate limit: what used the endpoint's window.
   * Counted when the request was counted against the limit (with arrival jitter, later than it arrived).
   */
  admitted: number;
  /** 429s of the rate-limit window; injected ones (faults.burst429) only show in byStatus["429"]. */
  rateLimited: number;
  byStatus: Record<string, number>;
  objects: EndpointObjects;
  dataPoints: number;
  /** The window of the two counts below: this endpoint's rate-limit window (track 3000, bulk 1000 by default). */
  windowMs: number;
  /** Most requests admitted in any sliding window of `windowMs`, at the moments they were counted. */
  maxRequestsInWindow: number;
  /** Most requests that arrived (any outcome) in any sliding window of `windowMs`, when they arrived. */
  maxArrivalsInWindow: number;
  /** When the first and the last request arrived (epoch ms; null before any). */
  firstAt: number | null;
  lastAt: number | null;
  bytesReceived: number;
}

export interface StatsSnapshot {
  requests: { total: number; track: number; byStatus: Record<string, number> };
  objects: {
    accepted: number;
    rejected: number;
    attributes: number;
    events: number;
    purchases: number;
    /** Valid objects that named no existing profile under update-only rules (Braze still counts them). */
    notApplied: number;
  };
  /** Data points billed for the valid objects, as Braze's data points page counts them. */
  dataPoints: number;
  /** Profile-field values Braze ignores (gender "Male", an unknown time zone): not stored. */
  fieldsIgnored: number;
  /** Nested updates dropped: an invalid nested value in their request, or over 100 KB. */
  nestedDropped: number;
  events: number;
  purchases: number;
  rateLimited: number;
  faults: FaultCounts;
  /** Most /users/track requests admitted (not 429) in any sliding 3 s window. */
  maxTrackRequestsIn3s: number;
  /** Most /users/track requests that arrived (any outcome) in any sliding 3 s window. */
  maxTrackArrivalsIn3s: number;
  /** When the first and the last /users/track request arrived (epoch ms; null before any). */
  firstTrackAt: number | null;
  lastTrackAt: number | null;
  bytesReceived: number;
  /** What each Braze-path answer waited before it was written: latency, its jitter, slow faults. */
  answerDelayMs: DelaySummary;
  /** How long each Braze-path request waited between arriving and being counted (arrival jitter). */
  arrivalDelayMs: DelaySummary;
  /** Per Braze path ("/users/track", "/users/track/bulk", "/users/delete", ...), every route always present. */
  endpoints: Record<string, EndpointSnapshot>;
}

function zeroFaults(): FaultCounts {
  return { burst429: 0, failed: 0, resetBeforeApply: 0, resetAfterApply: 0, slow: 0, queued: 0 };
}

function byStatusOf(statuses: Float64Array): Record<string, number> {
  const out: Record<string, number> = {};
  statuses.forEach((n, status) => {
    if (n > 0) out[String(status)] = n;
  });
  return out;
}

/** The counts of one endpoint; the server and processTrack add to them beside the totals. */
export class EndpointCounters {
  requests = 0;
  admitted = 0;
  rateLimited = 0;
  bytesReceived = 0;
  dataPoints = 0;
  readonly objects: EndpointObjects = zeroObjects();
  private statuses = new Float64Array(600);
  private readonly admittedWindow: WindowMax;
  private readonly arrivalsWindow: WindowMax;
  private firstAt: number | null = null;
  private lastAt: number | null = null;

  constructor(readonly windowMs: number) {
    this.admittedWindow = new WindowMax(windowMs);
    this.arrivalsWindow = new WindowMax(windowMs);
  }

  arrived(now: number): void {
    this.requests++;
    this.arrivalsWindow.record(now);
    this.firstAt ??= now;
    this.lastAt = now;
  }

  admit(now: number): void {
    this.admitted++;
    this.admittedWindow.record(now);
  }

  response(status: number): void {
    if (status >= 0 && status < 600) this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }

  reset(): void {
    this.requests = 0;
    this.admitted = 0;
    this.rateLimited = 0;
    this.bytesReceived = 0;
    this.dataPoints = 0;
    Object.assign(this.objects, zeroObjects());
    this.statuses = new Float64Array(600);
    this.admittedWindow.reset();
    this.arrivalsWindow.reset();
    this.firstAt = null;
    this.lastAt = null;
  }

  snapshot(): EndpointSnapshot {
    return {
      requests: this.requests,
      admitted: this.admitted,
      rateLimited: this.rateLimited,
      byStatus: byStatusOf(this.statuses),
      objects: { ...this.objects },
      dataPoints: this.dataPoints,
      windowMs: this.windowMs,
      maxRequestsInWindow: this.admittedWindow.max,
      maxArrivalsInWindow: this.arrivalsWindow.max,
      firstAt: this.firstAt,
      lastAt: this.lastAt,
      bytesReceived: this.bytesReceived,
    };
  }
}

function zeroObjects(): EndpointObjects {
  return {
    accepted: 0,
    rejected: 0,
    attributes: 0,
    events: 0,
    purchases: 0,
    notApplied: 0,
    maxPerRequest: 0,
  };
}

export class EmulatorStats {
  total = 0;
  track = 0;
  private statuses = new Float64Array(600);
  accepted = 0;
  rejected = 0;
  attributes = 0;
  events = 0;
  purchases = 0;
  notApplied = 0;
  dataPoints = 0;
  fieldsIgnored = 0;
  nestedDropped = 0;
  rateLimited = 0;
  bytesReceived = 0;
  faults: FaultCounts = zeroFaults();
  private readonly admitted = new WindowMax(TRACK_WINDOW_MS);
  private readonly arrivals = new WindowMax(TRACK_WINDOW_MS);
  private firstTrackAt: number | null = null;
  private lastTrackAt: number | null = null;
  private answerDelays = new DelaySeries();
  private arrivalDelays = new DelaySeries();
  private readonly endpoints = new Map<string, EndpointCounters>();

  /** `endpoints`: each Braze path with the window of its busiest-window counts. */
  constructor(endpoints: Iterable<readonly [path: string, windowMs: number]> = []) {
    for (const [path, windowMs] of endpoints) this.endpoints.set(path, new EndpointCounters(windowMs));
  }

  /** The counters of a path given to the constructor; undefined for any other path. */
  endpoint(path: string): EndpointCounters | undefined {
    return this.endpoints.get(path);
  }

  request(isTrack: boolean, now: number): void {
    this.total++;
    if (isTrack) {
      this.track++;
      this.arrivals.record(now);
      this.firstTrackAt ??= now;
      this.lastTrackAt = now;
    }
  }

  trackAdmitted(now: number): void {
    this.admitted.record(now);
  }

  answerDelayed(ms: number): void {
    this.answerDelays.add(ms);
  }

  arrivalDelayed(ms: number): void {
    this.arrivalDelays.add(ms);
  }

  response(status: number): void {
    if (status >= 0 && status < 600) this.statuses[status] = (this.statuses[status] ?? 0) + 1;
  }

  reset(): void {
    this.total = 0;
    this.track = 0;
    this.statuses = new Float64Array(600);
    this.accepted = 0;
    this.rejected = 0;
    this.attributes = 0;
    this.events = 0;
    this.purchases = 0;
    this.notApplied = 0;
    this.dataPoints = 0;
    this.fieldsIgnored = 0;
    this.nestedDropped = 0;
    this.rateLimited = 0;
    this.bytesReceived = 0;
    this.faults = zeroFaults();
    this.admitted.reset();
    this.arrivals.reset();
    this.firstTrackAt = null;
    this.lastTrackAt = null;
    this.answerDelays = new DelaySeries();
    this.arrivalDelays = new DelaySeries();
    for (const counters of this.endpoints.values()) counters.reset();
  }

  snapshot(): StatsSnapshot {
    const endpoints: Record<string, EndpointSnapshot> = {};
    for (const [path, counters] of this.endpoints) endpoints[path] = counters.snapshot();
    return {
      requests: { total: this.total, track: this.track, byStatus: byStatusOf(this.statuses) },
      objects: {
        accepted: this.accepted,
        rejected: this.rejected,
        attributes: this.attributes,
        events: this.events,
        purchases: this.purchases,
        notApplied: this.notApplied,
      },
      dataPoints: this.dataPoints,
      fieldsIgnored: this.fieldsIgnored,
      nestedDropped: this.nestedDropped,
      events: this.events,
      purchases: this.purchases,
      rateLimited: this.rateLimited,
      faults: { ...this.faults },
      maxTrackRequestsIn3s: this.admitted.max,
      maxTrackArrivalsIn3s: this.arrivals.max,
      firstTrackAt: this.firstTrackAt,
      lastTrackAt: this.lastTrackAt,
      bytesReceived: this.bytesReceived,
      answerDelayMs: this.answerDelays.summary(),
      arrivalDelayMs: this.arrivalDelays.summary(),
      endpoints,
    };
  }
}
