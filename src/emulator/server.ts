/**
 * The node:http edge. Order for a Braze path: the gate's arrival (gate.ts: route 404 -> auth 401 ->
 * permission 403 -> fault dice) -> [arrival jitter] -> the gate's count (injected 429 burst -> rate limit
 * 429) -> reset/5xx faults (body NOT applied) -> body (413 above 4 MB; /users/track/bulk: 400 above 2 MB;
 * 400 bad JSON) -> endpoint -> reset-after fault (body applied) -> latency (with its jitter) -> answer.
 * With `arrivalJitterMs`, everything after the dice waits a random delay, the answers of 404, 401 and 403
 * included. The waits run on timers close() clears. Every answer is counted in the totals and in the
 * endpoint's own counters (stats.ts).
 * The key comes from `Authorization: Bearer`, or, for legacy clients that send none, from `api_key` in the
 * query or the JSON body (read first for that).
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { bearerKey, bodyKey } from './auth.js';
import { ROUTES, type Route } from './endpoints.js';
import { type Admitted, type Answer, createGate, isAnswer } from './gate.js';
import { parseQuery, readBody, sendJson } from './http-util.js';
import { handleInspect } from './inspect.js';
import type { EmulatorState } from './state.js';

const TOO_LARGE = JSON.stringify({ message: 'Request Entity Too Large' });
const BAD_JSON = JSON.stringify({ message: 'Invalid JSON in request body' });
const QUEUED = JSON.stringify({ message: 'queued' });
const FAILURE_MESSAGES: Record<number, string> = {
  500: 'Internal Server Error',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Gateway Timeout',
};

/** A body read before auth (a legacy key may be inside it). */
interface ReadBody {
  tooLarge: boolean;
  buf: Buffer;
  bytes: number;
}

export function createEmulatorServer(state: EmulatorState): Server {
  const gate = createGate(state);

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
    const { next, waitMs } = gate.arrive(req.method, path, key, state.opts.now());
    later(waitMs, () => {
      const decided = isAnswer(next) ? next : gate.count(next, state.opts.now());
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
