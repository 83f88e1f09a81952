/**
 * What happens to a Braze-path request before its body is read, in two moments.
 * arrive(), when it comes in: route (404) -> auth (401) -> the key's permission for the endpoint (403
 * Access Denied) -> fault dice, and the arrival jitter it waits before the next moment.
 * count(), when it is counted against its bucket (at once, or after that wait, as behind a load
 * balancer's queue): injected 429 burst (does not use the window) -> rate limit (429, not recorded) ->
 * admitted. Each moment records what it decided at its own time, in the totals and in the endpoint's
 * counters: arrivals (first/last request, arrivals per window) at arrival; admissions, 429s and admitted
 * per window when counted. The dice are drawn at arrival, so the n-th request meets the same faults with
 * or without the jitter.
 * Faults target some buckets only when `faults.buckets` says so: a request to another bucket (or to no
 * route, unless every bucket is targeted) meets none of them, latency and both jitters included, and
 * draws no dice. 404, 401 and 403 carry no rate-limit headers: no bucket was charged for them. What a 429
 * carries depends on `headers429` (braze-api.md §2.4). Pure: no timers, no I/O; the caller passes the
 * clock and does the waiting (server.ts).
 */
import { createKeyring } from './auth.js';
import { ROUTES, type Route } from './endpoints.js';
import { type FaultDecision, newFaultDecision } from './faults.js';
import { newRateDecision, rateLimitHeaders } from './rate-limit.js';
import type { EmulatorState } from './state.js';
import type { EndpointCounters } from './stats.js';

const NOT_FOUND = JSON.stringify({ message: 'Not Found' });
const INVALID_KEY = JSON.stringify({ message: 'Invalid API Key' });
const ACCESS_DENIED = JSON.stringify({ message: 'Access Denied' });
const RATE_LIMITED = JSON.stringify({ message: 'Rate Limit Exceeded' });

export type Headers = Record<string, string | number>;

/** An answer, to be written `delayMs` after it was decided. */
export interface Answer {
  status: number;
  body: string;
  headers: Headers;
  delayMs: number;
  /** The endpoint's counters; undefined for a path that is no route (404). */
  counters: EndpointCounters | undefined;
}

/** A request that passed route, auth and permission, its dice drawn; not yet counted against a limit. */
export interface Arrived {
  route: Route;
  fault: FaultDecision;
  counters: EndpointCounters | undefined;
}

/** A request counted and admitted by its bucket's limiter. */
export interface Admitted extends Arrived {
  headers: Headers;
}

/** What arrive() decided, and how long the request waits before count() (or before its early answer). */
export interface Arrival {
  next: Answer | Arrived;
  /** The arrival jitter drawn; 0 when faults do not target the request. */
  waitMs: number;
}

export const isAnswer = (a: Answer | Arrived): a is Answer => 'status' in a;

export interface Gate {
  /** The first moment; `method` and `path` pick the route, `key` is the API key sent, if any. */
  arrive(method: string | undefined, path: string, key: string | undefined, now: number): Arrival;
  /** The second moment, for a request arrive() let through: a 429 (injected or of the limit), or admitted. */
  count(arrived: Arrived, now: number): Answer | Admitted;
}

export function createGate(state: EmulatorState): Gate {
  const keyring = createKeyring(state.opts);
  const rate = newRateDecision();

  /** Counts the arrival; then auth, permission and the dice (`faulty`: whether faults target it). */
  function decide(
    route: Route | undefined,
    path: string,
    key: string | undefined,
    faulty: boolean,
    now: number,
  ): Answer | Arrived {
    const { stats, faults } = state;
    stats.request(route?.bucket === 'track', now);
    const counters = route ? stats.endpoint(path) : undefined;
    counters?.arrived(now);
    const early = (status: number, body: string): Answer => ({
      status,
      body,
      headers: {},
      delayMs: faulty ? faults.latency() : 0,
      counters,
    });
    if (!route) return early(404, NOT_FOUND);
    const access = keyring.access(key, route.permission);
    if (access === 'unknown') return early(401, INVALID_KEY);
    if (access === 'denied') return early(403, ACCESS_DENIED);
    const fault = faulty ? faults.decide(newFaultDecision()) : newFaultDecision();
    return { route, fault, counters };
  }

  return {
    arrive(method, path, key, now) {
      const { faults, stats } = state;
      const route = method === 'POST' ? ROUTES.get(path) : undefined;
      const faulty = faults.applies(route?.bucket);
      const next = decide(route, path, key, faulty, now);
      // Drawn for every request faults target, so the n-th of them meets the same delay whatever came
      // before it.
      const waitMs = faulty ? faults.arrivalDelay() : 0;
      stats.arrivalDelayed(waitMs);
      return { next, waitMs };
    },

    count({ route, fault, counters }, now) {
      const { stats, faults } = state;
      const limiter = state.limiters[route.bucket];
      const refused = (headers: Headers): Answer => ({
        status: 429,
        body: RATE_LIMITED,
        headers,
        delayMs: fault.latencyMs,
        counters,
      });
      if (fault.burst429) {
        stats.faults.burst429++;
        const retryS = faults.burst429RetryAfterS;
        Object.assign(rate, {
          allowed: false,
          limit: limiter?.limit ?? 0,
          remaining: 0,
          retryAfterS: retryS,
        });
        rate.resetAtMs = now + retryS * 1000;
        return refused(rateLimitHeaders(rate, now, state.opts));
      }
      const headers = limiter ? rateLimitHeaders(limiter.take(now, rate), now, state.opts) : {};
      if (limiter && !rate.allowed) {
        stats.rateLimited++;
        if (counters) counters.rateLimited++;
        return refused(headers);
      }
      if (route.bucket === 'track') stats.trackAdmitted(now);
      counters?.admit(now);
      return { route, fault, counters, headers };
    },
  };
}
