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

function json(res: ServerResponse, status: number, body: unknown): void {
  sendJson(res, status, JSON.stringify(body), {});
}

export function handleInspect(state: EmulatorState, req: IncomingMessage, res: ServerResponse, path: string): void {
  const method = req.method ?? 'GET';
  if (method === 'GET' && path === '/_emulator/stats') return json(res, 200, statsOf(state));
  if (method === 'GET' && path === '/_emulator/faults') return json(res, 200, state.faults.config);
  if (method === 'GET' && path === '/_emulator/config') return json(res, 200, configOf(state));
  if (method === 'GET' && path === '/_emulator/users') return listUsers(state, req, res);
  if (method === 'GET' && path.startsWith(USERS_PREFIX)) return getUser(state, res, path);
  if (method === 'POST' && path === '/_emulator/reset') {
    resetState(state);
    return json(res, 200, { message: 'reset' });
  }
  if (method === 'POST' && path === '/_emulator/faults') return patchFaults(state, req, res);
  json(res, 404, { message: 'Not Found' });
}

function configOf(state: EmulatorState): object {
  const { now: _clock, ...rest } = state.opts;
  return { ...rest, apiKey: undefined, faults: state.faults.config };
}

function getUser(state: EmulatorState, res: ServerResponse, path: string): void {
  let id: string;
  try {
    id = decodeURIComponent(path.slice(USERS_PREFIX.length));
  } catch {
    return json(res, 400, { message: 'malformed external_id in path' });
  }
  const profile = state.store?.findByExternalId(id);
  if (!profile) return json(res, 404, { message: 'Not Found' });
  json(res, 200, viewProfile(profile));
}

function listUsers(state: EmulatorState, req: IncomingMessage, res: ServerResponse): void {
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
  json(res, 200, { total: state.store?.size ?? 0, offset, limit, users });
}

function patchFaults(state: EmulatorState, req: IncomingMessage, res: ServerResponse): void {
  readBody(req, 64 * 1024, (tooLarge, body) => {
    if (tooLarge) return json(res, 413, { message: 'Request Entity Too Large' });
    let raw: unknown;
    try {
      raw = body.length === 0 ? {} : JSON.parse(body.toString('utf8'));
    } catch {
      return json(res, 400, { message: 'Invalid JSON in request body' });
    }
    const parsed = faultPatchSchema.safeParse(raw);
    if (!parsed.success) {
      const errors = parsed.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`);
      return json(res, 400, { message: 'Invalid fault settings', errors });
    }
    const { seed, ...patch } = parsed.data;
    json(res, 200, state.faults.update(patch, seed));
  });
}
