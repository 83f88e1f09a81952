/** Counters for GET /_emulator/stats. Pure: the caller passes timestamps. */
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
}

function zeroFaults(): FaultCounts {
  return { burst429: 0, failed: 0, resetBeforeApply: 0, resetAfterApply: 0, slow: 0, queued: 0 };
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
  }

  snapshot(): StatsSnapshot {
    const byStatus: Record<string, number> = {};
    this.statuses.forEach((n, status) => {
      if (n > 0) byStatus[String(status)] = n;
    });
    return {
      requests: { total: this.total, track: this.track, byStatus },
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
    };
  }
}
