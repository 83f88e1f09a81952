import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { RequestHandler } from 'express';
import type { DashboardAuth } from '../../schemas/dashboard.js';
import type { Logger } from '../infra/logger.js';

export const AUTH_REALM = 'braze-import dashboard';

/** True for localhost, 127.0.0.0/8 and ::1 (in any spelling, also as ::ffff:127.x.y.z). */
export function isLoopbackHost(host: string): boolean {
  const h = host
    .trim()
    .toLowerCase()
    .replace(/^\[(.*)\]$/, '$1');
  if (h === 'localhost' || h === 'localhost.') return true;
  if (isIPv4(h)) return h.startsWith('127.');
  if (!isIPv6(h)) return false;
  // The WHATWG URL parser writes IPv6 in canonical form: ::1, and ::ffff:7fxx:xxxx for mapped 127/8.
  let canonical: string;
  try {
    canonical = new URL(`http://[${h}]/`).hostname;
  } catch {
    return false; // e.g. a zone id (fe80::1%eth0): link-local, not loopback
  }
  return canonical === '[::1]' || /^\[::ffff:7f[0-9a-f]{2}:[0-9a-f]{1,4}\]$/.test(canonical);
}

/** Fixed-length digests, so neither the comparison's time nor its length check depends on the secret. */
const digest = (s: string) => createHash('sha256').update(s, 'utf8').digest();

/** Splits `Authorization: Basic base64(user:password)`; undefined when absent or malformed. */
export function parseBasicAuth(header: string | undefined): DashboardAuth | undefined {
  const m = header ? /^Basic\s+([A-Za-z0-9+/=._~-]+)\s*$/i.exec(header) : null;
  if (!m?.[1]) return undefined;
  const decoded = Buffer.from(m[1], 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return undefined;
  return { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

/** True when the credentials match; both parts are always compared (no early exit on the user). */
export function credentialsMatch(given: DashboardAuth, expected: DashboardAuth): boolean {
  const userOk = timingSafeEqual(digest(given.user), digest(expected.user));
  const passwordOk = timingSafeEqual(digest(given.password), digest(expected.password));
  return userOk && passwordOk;
}

/** Failed logins a client may make before it has to wait; then each failure doubles the wait. */
export const FREE_FAILURES = 5;
const FIRST_WAIT_MS = 1000;
const MAX_WAIT_MS = 5 * 60_000;
/** Clients remembered at once; the oldest are forgotten first (a flood must not fill memory). */
const MAX_CLIENTS = 10_000;

interface Failures {
  count: number;
  /** No attempt is checked before this (ms since the epoch). */
  until: number;
}

export interface BasicAuthOptions {
  log?: Logger | undefined;
  now?: () => number;
}

/**
 * HTTP Basic auth: 401 with a challenge unless the request carries the configured credentials.
 * Wrong credentials are logged (client address, never what was tried) and, after FREE_FAILURES,
 * the client must wait before its next attempt is even checked (429 with Retry-After), the wait
 * doubling with each failure up to 5 minutes. A success clears the client's record. A request
 * without credentials (a browser's first one) is not a failure.
 */
export function basicAuth(expected: DashboardAuth, o: BasicAuthOptions = {}): RequestHandler {
  const want = { user: expected.user, password: expected.password };
  const now = o.now ?? Date.now;
  const failures = new Map<string, Failures>();
  return (req, res, next) => {
    const client = req.socket.remoteAddress ?? 'unknown';
    const record = failures.get(client);
    const at = now();
    res.set('Cache-Control', 'no-store');
    if (record && record.until > at) {
      res
        .status(429)
        .set('Retry-After', String(Math.ceil((record.until - at) / 1000)))
        .json({ error: 'too many failed logins: wait before trying again' });
      return;
    }
    const given = parseBasicAuth(req.headers.authorization);
    if (given && credentialsMatch(given, want)) {
      failures.delete(client);
      next();
      return;
    }
    if (given) {
      const count = (record?.count ?? 0) + 1;
      const waitMs =
        count <= FREE_FAILURES ? 0 : Math.min(MAX_WAIT_MS, FIRST_WAIT_MS * 2 ** (count - FREE_FAILURES - 1));
      failures.delete(client);
      failures.set(client, { count, until: at + waitMs });
      if (failures.size > MAX_CLIENTS) failures.delete(failures.keys().next().value as string);
      o.log?.warn({ client, failures: count, waitMs }, 'dashboard: failed login');
    }
    res
      .status(401)
      .set('WWW-Authenticate', `Basic realm="${AUTH_REALM}", charset="UTF-8"`)
      .json({ error: 'authentication required' });
  };
}
