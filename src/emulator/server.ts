/**
 * The node:http edge. Order for a Braze path: route (404) -> auth (401) -> fault dice -> injected 429 burst
 * (does not use the window) -> rate limit (429, not recorded) -> reset/5xx faults (body NOT applied) -> body
 * (413/400) -> endpoint -> reset-after fault (body applied) -> latency -> answer.
 */
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import { ROUTES } from './endpoints.js';
import { newFaultDecision } from './faults.js';
import { readBody, sendJson } from './http-util.js';
import { handleInspect } from './inspect.js';
import { newRateDecision, type RateDecision } from './rate-limit.js';
import type { EmulatorState } from './state.js';

const NOT_FOUND = JSON.stringify({ message: 'Not Found' });
const INVALID_KEY = JSON.stringify({ message: 'Invalid API Key' });
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

export function createEmulatorServer(state: EmulatorState): Server {
  const expectedAuth = `Bearer ${state.opts.apiKey}`;
  const rate = newRateDecision();

  function answer(res: ServerResponse, status: number, body: string, headers: OutgoingHttpHeaders, delayMs: number) {
    const send = () => {
      state.stats.response(status);
      sendJson(res, status, body, headers);
    };
    if (delayMs <= 0) return send();
    const timer = setTimeout(() => {
      state.timers.delete(timer);
      send();
    }, delayMs);
    state.timers.add(timer);
  }

  function rateHeaders(d: RateDecision, now: number): OutgoingHttpHeaders {
    const reset =
      state.opts.resetHeader === 'epoch' ? Math.ceil(d.resetAtMs / 1000) : Math.max(0, Math.ceil((d.resetAtMs - now) / 1000));
    const headers: OutgoingHttpHeaders = {
      'X-RateLimit-Limit': d.limit,
      'X-RateLimit-Remaining': d.remaining,
      'X-RateLimit-Reset': reset,
    };
    if (!d.allowed) headers['X-Ratelimit-Retry-After'] = d.retryAfterS;
    return headers;
  }

  function onBraze(req: IncomingMessage, res: ServerResponse, path: string): void {
    const { stats, opts, faults } = state;
    const now = opts.now();
    const route = req.method === 'POST' ? ROUTES.get(path) : undefined;
    const isTrack = route?.bucket === 'track';
    stats.request(isTrack, now);
    if (!route) return answer(res, 404, NOT_FOUND, {}, faults.latencyMs);
    const auth = req.headers.authorization;
    if (auth !== expectedAuth && !(auth && /^bearer\s+/i.test(auth) && auth.replace(/^bearer\s+/i, '') === opts.apiKey)) {
      return answer(res, 401, INVALID_KEY, {}, faults.latencyMs);
    }
    const fault = faults.decide(newFaultDecision());
    const limiter = state.limiters[route.bucket];
    if (fault.burst429) {
      stats.faults.burst429++;
      const retryS = faults.burst429RetryAfterS;
      Object.assign(rate, { allowed: false, limit: limiter?.limit ?? 0, remaining: 0, retryAfterS: retryS });
      rate.resetAtMs = now + retryS * 1000;
      return answer(res, 429, RATE_LIMITED, rateHeaders(rate, now), faults.latencyMs);
    }
    let headers: OutgoingHttpHeaders = {};
    if (limiter) {
      limiter.take(now, rate);
      headers = rateHeaders(rate, now);
      if (!rate.allowed) {
        stats.rateLimited++;
        return answer(res, 429, RATE_LIMITED, headers, faults.latencyMs);
      }
    }
    if (isTrack) stats.trackAdmitted(now);
    if (fault.reset === 'before') {
      stats.faults.resetBeforeApply++;
      req.socket.destroy();
      return;
    }
    if (fault.failStatus !== 0) {
      stats.faults.failed++;
      const message = FAILURE_MESSAGES[fault.failStatus] ?? 'Server Error';
      return answer(res, fault.failStatus, JSON.stringify({ message }), headers, fault.delayMs);
    }
    readBody(req, opts.maxBodyBytes, (tooLarge, buf, bytes) => {
      stats.bytesReceived += bytes;
      if (tooLarge) {
        headers['connection'] = 'close';
        return answer(res, 413, TOO_LARGE, headers, fault.delayMs);
      }
      let body: unknown;
      try {
        body = buf.length === 0 ? undefined : JSON.parse(buf.toString('utf8'));
      } catch {
        return answer(res, 400, BAD_JSON, headers, fault.delayMs);
      }
      const result = route.handle(body, state.track);
      if (fault.reset === 'after') {
        stats.faults.resetAfterApply++;
        req.socket.destroy();
        return;
      }
      if (fault.slow) stats.faults.slow++;
      if (fault.queued && result.status < 300) {
        stats.faults.queued++;
        return answer(res, 202, QUEUED, headers, fault.delayMs);
      }
      answer(res, result.status, JSON.stringify(result.body), headers, fault.delayMs);
    });
  }

  return createServer({ keepAliveTimeout: 30_000 }, (req, res) => {
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    const path = q === -1 ? url : url.slice(0, q);
    if (path.startsWith('/_emulator/')) handleInspect(state, req, res, path);
    else onBraze(req, res, path);
  });
}
