/**
 * The node:http edge. Order for a Braze path: route (404) -> auth (401) -> the key's permission for the
 * endpoint (403 Access Denied) -> fault dice -> [arrival jitter] -> injected 429 burst (does not use the
 * window) -> rate limit (429, not recorded) -> reset/5xx faults (body NOT applied) -> body (413 above 4 MB;
 * /users/track/bulk: 400 above 2 MB; 400 bad JSON) -> endpoint -> reset-after fault (body applied) ->
 * latency (with its jitter) -> answer.
 * With `arrivalJitterMs`, everything after the dice waits a random delay, as behind a load balancer's
 * queue: the request is counted against the limit (and admitted or refused) at that later moment. Its
 * arrival (stats: first/last request, arrivals per window) is recorded when it came in, and the dice
 * are drawn then, so the n-th request meets the same faults with or without the jitter.
 * Faults target some buckets only when `faults.buckets` says so: a request to another bucket (or to no
 * route, unless every bucket is targeted) meets none of them, latency and both jitters included, and
 * draws no dice. Every step is counted in the totals and in the endpoint's own counters (stats.ts).
 * The key comes from `Authorization: Bearer`, or, for legacy clients that send none, from `api_key` in the
 * query or the JSON body (read first for that). 404, 401 and 403 carry no rate-limit headers: no bucket was
 * charged for them. What a 429 carries depends on `headers429` (braze-api.md §2.4).
 */
import {
  createServer,
  type IncomingMessage,
  type OutgoingHttpHeaders,
  type Server,
  type ServerResponse,
} from 'node:http';
import { bearerKey, bodyKey, createKeyring } from './auth.js';
import { ROUTES, type Route } from './endpoints.js';
import { type FaultDecision, newFaultDecision } from './faults.js';
import { parseQuery, readBody, sendJson } from './http-util.js';
import { handleInspect } from './inspect.js';
import { newRateDecision, type RateDecision, rateLimitHeaders } from './rate-limit.js';
import type { EmulatorState } from './state.js';
import type { EndpointCounters } from './stats.js';

const NOT_FOUND = JSON.stringify({ message: 'Not Found' });
const INVALID_KEY = JSON.stringify({ message: 'Invalid API Key' });
const ACCESS_DENIED = JSON.stringify({ message: 'Access Denied' });
const RATE_LIMITED = JSON.stringify({ message: 'Rate Limit Exceeded' });
const TOO_LARGE = JSON.stringify({ message: 'Request Entity Too Large' });
const BAD_JSON = JSON.stringify({ message: 'Invalid JSON in request body' });
const QUEUED = JSON.stringify({ message: 'queued' });
const FAILURE_MESSAGES: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

interface Answer {
  status: number;
  body: string;
  headers: OutgoingHttpHeaders;
  delayMs: number;
  /** The endpoint's counters; undefined for a path that is no route (404). */
  counters: EndpointCounters | undefined;
}

/** A request that passed route, auth and permission, its dice drawn; not yet counted against a limit. */
interface Arrived {
  route: Route;
  fault: FaultDecision;
  counters: EndpointCounters | undefined;
}

/** A request counted and admitted by its bucket's limiter. */
interface Admitted extends Arrived {
  headers: OutgoingHttpHeaders;
}

const isAnswer = (a: Answer | Arrived): a is Answer => 'status' in a;

/** A body read before auth (a legacy key may be inside it). */
interface ReadBody {
  tooLarge: boolean;
  buf: Buffer;
  bytes: number;
}

export function createEmulatorServer(state: EmulatorState): Server {
  const keyring = createKeyring(state.opts);
  const rate = newRateDecision();

  /** Runs `fn` after `ms` (at once for 0), on a timer close() clears so nothing fires after it. */
  function later(ms: number, fn: () => void): void {
    if (ms <= 0) {
      fn();
      return;
    }
    const timer = setTimeout(() => {
      state.timers.delete(timer);
      fn();
    }, ms);
    state.timers.add(timer);
  }

  function send(res: ServerResponse, a: Answer): void {
    state.stats.answerDelayed(a.delayMs);
    later(a.delayMs, () => {
      state.stats.response(a.status);
      a.counters?.response(a.status);
      sendJson(res, a.status, a.body, a.headers);
    });
  }

  const rateHeaders = (d: RateDecision, now: number) => rateLimitHeaders(d, now, state.opts);

  /**
   * Auth, permission and fault dice, when the request arrives (`faulty`: whether faults target its
   * bucket): an early answer or an arrival. Counts the arrival, in total and for the endpoint.
   */
  function arrive(
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

  /**
   * The moment a request is counted against its bucket: an injected 429, a 429, or admitted. Counts the
   * outcome, in total and for the endpoint, at this moment (with arrival jitter, later than the arrival).
   */
  function count(arrived: Arrived, now: number): Answer | Admitted {
    const { stats, faults } = state;
    const { route, fault, counters } = arrived;
    const limiter = state.limiters[route.bucket];
    const refused = (headers: OutgoingHttpHeaders): Answer => ({
      status: 429,
      body: RATE_LIMITED,
      headers,
      delayMs: fault.latencyMs,
      counters,
    });
    if (fault.burst429) {
      stats.faults.burst429++;
      const retryS = faults.burst429RetryAfterS;
      Object.assign(rate, { allowed: false, limit: limiter?.limit ?? 0, remaining: 0, retryAfterS: retryS });
      rate.resetAtMs = now + retryS * 1000;
      return refused(rateHeaders(rate, now));
    }
    const headers = limiter ? rateHeaders(limiter.take(now, rate), now) : {};
    if (limiter && !rate.allowed) {
      stats.rateLimited++;
      if (counters) counters.rateLimited++;
      return refused(headers);
    }
    if (route.bucket === 'track') stats.trackAdmitted(now);
    counters?.admit(now);
    return { route, fault, counters, headers };
  }

  /** Parses and applies the body; undefined when the reset-after fault dropped the connection. */
  function finish(req: IncomingMessage, a: Admitted, tooLarge: boolean, buf: Buffer): Answer | undefined {
    const { fault, headers, counters } = a;
    const { stats } = state;
    const answer = (status: number, body: string): Answer => ({
      status,
      body,
      headers,
      delayMs: fault.delayMs,
      counters,
    });
    if (tooLarge) {
      headers['connection'] = 'close';
      // Braze: 413 on most endpoints, 400 on /users/track/bulk (shared/braze-api.md §0, payload size).
      return answer(a.route.bodyCap === 'bulk' ? 400 : 413, TOO_LARGE);
    }
    let body: unknown;
    try {
      body = buf.length === 0 ? undefined : JSON.parse(buf.toString('utf8'));
    } catch {
      return answer(400, BAD_JSON);
    }
    const result = a.route.handle(body, state);
    if (fault.reset === 'after') {
      stats.faults.resetAfterApply++;
      req.socket.destroy();
      return undefined;
    }
    if (fault.slow) stats.faults.slow++;
    if (fault.queued && result.status < 300) {
      stats.faults.queued++;
      return answer(202, QUEUED);
    }
    return answer(result.status, JSON.stringify(result.body));
  }

  /** The largest body a route accepts. */
  function maxBytes(route: Route | undefined): number {
    return route?.bodyCap === 'bulk' ? state.opts.bulkMaxBodyBytes : state.opts.maxBodyBytes;
  }

  function onBraze(req: IncomingMessage, res: ServerResponse, path: string, query: string): void {
    const key = bearerKey(req.headers.authorization);
    if (key === undefined && state.opts.legacyApiKey && ROUTES.has(path)) {
      readBody(req, maxBytes(ROUTES.get(path)), (tooLarge, buf, bytes) => {
        const legacy = parseQuery(query).get('api_key') ?? (tooLarge ? undefined : bodyKey(buf));
        admit(req, res, path, legacy ?? undefined, { tooLarge, buf, bytes });
      });
      return;
    }
    admit(req, res, path, key, undefined);
  }

  function admit(
    req: IncomingMessage,
    res: ServerResponse,
    path: string,
    key: string | undefined,
    body: ReadBody | undefined,
  ): void {
    const { faults, stats } = state;
    const route = req.method === 'POST' ? ROUTES.get(path) : undefined;
    const faulty = faults.applies(route?.bucket);
    const arrived = arrive(route, path, key, faulty, state.opts.now());
    // Drawn for every request faults target, so the n-th of them meets the same delay whatever came before.
    const delay = faulty ? faults.arrivalDelay() : 0;
    stats.arrivalDelayed(delay);
    later(delay, () => {
      const decided = isAnswer(arrived) ? arrived : count(arrived, state.opts.now());
      if (isAnswer(decided)) send(res, decided);
      else respond(req, res, decided, body);
    });
  }

  /** An admitted request: the reset and 5xx faults, else the body is read and applied. */
  function respond(req: IncomingMessage, res: ServerResponse, a: Admitted, body: ReadBody | undefined): void {
    const { stats } = state;
    const { fault, headers, counters } = a;
    if (fault.reset === 'before') {
      stats.faults.resetBeforeApply++;
      req.socket.destroy();
      return;
    }
    if (fault.failStatus !== 0) {
      stats.faults.failed++;
      const failure = JSON.stringify({ message: FAILURE_MESSAGES[fault.failStatus] ?? 'Server Error' });
      send(res, { status: fault.failStatus, body: failure, headers, delayMs: fault.delayMs, counters });
      return;
    }
    const done = (tooLarge: boolean, buf: Buffer, bytes: number) => {
      stats.bytesReceived += bytes;
      if (counters) counters.bytesReceived += bytes;
      const answer = finish(req, a, tooLarge, buf);
      if (answer) send(res, answer);
    };
    if (body) done(body.tooLarge, body.buf, body.bytes);
    else readBody(req, maxBytes(a.route), done);
  }

  return createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path.startsWith('/_emulator/')) handleInspect(state, req, res, path);
    else onBraze(req, res, path, url);
  });
}
