/**
 * The emulator's own API under /_emulator/ (not Braze's, no auth): read profiles and stats, reset, and change
 * faults while a test runs.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { faultPatchSchema } from '../../schemas/emulator.js';
import { parseQuery, readBody, sendJson } from './http-util.js';
import type { EmulatorState } from './state.js';
import { resetState, statsOf, viewProfile } from './state.js';

const USERS_PREFIX = '/_emulator/users/';
const NOT_FOUND: Reply = [404, { message: 'Not Found' }];

type Reply = [status: number, body: unknown];
type Handler = (state: EmulatorState, req: IncomingMessage, path: string) => Reply | Promise<Reply>;

const ROUTES: Record<string, Handler> = {
  'GET /_emulator/stats': (state) => [200, statsOf(state)],
  'GET /_emulator/faults': (state) => [200, state.faults.config],
  'GET /_emulator/config': (state) => [200, configOf(state)],
  'GET /_emulator/users': listUsers,
  'POST /_emulator/reset': (state) => {
    resetState(state);
    return [200, { message: 'reset' }];
  },
  'POST /_emulator/faults': patchFaults,
};

export function handleInspect(
  state: EmulatorState,
  req: IncomingMessage,
  res: ServerResponse,
  path: string,
): void {
  const method = req.method ?? 'GET';
  const handler =
    ROUTES[`${method} ${path}`] ??
    (method === 'GET' && path.startsWith(USERS_PREFIX) ? getUser : () => NOT_FOUND);
  void Promise.resolve(handler(state, req, path)).then(([status, body]) => {
    sendJson(res, status, JSON.stringify(body), {});
  });
}

/** The options, without the keys (secrets): only how many extra keys there are. */
function configOf(state: EmulatorState): object {
  const { now: _clock, apiKey: _secret, keys, ...rest } = state.opts;
  return { ...rest, extraKeys: Object.keys(keys).length, faults: state.faults.config };
}

function getUser(state: EmulatorState, _req: IncomingMessage, path: string): Reply {
  let id: string;
  try {
    id = decodeURIComponent(path.slice(USERS_PREFIX.length));
  } catch {
    return [400, { message: 'malformed external_id in path' }];
  }
  const profile = state.store?.findByExternalId(id);
  return profile ? [200, viewProfile(profile)] : NOT_FOUND;
}

function listUsers(state: EmulatorState, req: IncomingMessage): Reply {
  const q = parseQuery(req.url ?? '');
  const limit = Math.min(Math.max(Number(q.get('limit') ?? 100) || 100, 1), 10_000);
  const offset = Math.max(Number(q.get('offset') ?? 0) || 0, 0);
  const users: object[] = [];
  let index = 0;
  for (const p of state.store?.profiles() ?? []) {
    if (index++ < offset) continue;
    if (users.length >= limit) break;
    users.push({ external_id: p.external_id ?? null, braze_id: p.braze_id, user_aliases: p.user_aliases });
  }
  return [200, { total: state.store?.size ?? 0, offset, limit, users }];
}

function readJson(req: IncomingMessage): Promise<Reply | { json: unknown }> {
  return new Promise((resolve) => {
    readBody(req, 64 * 1024, (tooLarge, body) => {
      if (tooLarge) resolve([413, { message: 'Request Entity Too Large' }]);
      else if (body.length === 0) resolve({ json: {} });
      else {
        try {
          resolve({ json: JSON.parse(body.toString('utf8')) });
        } catch {
          resolve([400, { message: 'Invalid JSON in request body' }]);
        }
      }
    });
  });
}

async function patchFaults(state: EmulatorState, req: IncomingMessage): Promise<Reply> {
  const read = await readJson(req);
  if (Array.isArray(read)) return read;
  const parsed = faultPatchSchema.safeParse(read.json);
  if (!parsed.success) {
    const errors = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
    return [400, { message: 'Invalid fault settings', errors }];
  }
  const { seed, ...patch } = parsed.data;
  return [200, state.faults.update(patch, seed)];
}
