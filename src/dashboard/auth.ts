import { createHash, timingSafeEqual } from 'node:crypto';
import { isIPv4, isIPv6 } from 'node:net';
import type { RequestHandler } from 'express';
import type { DashboardAuth } from '../../schemas/dashboard.js';

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

/** HTTP Basic auth: 401 with a challenge unless the request carries the configured credentials. */
export function basicAuth(expected: DashboardAuth): RequestHandler {
  const want = { user: expected.user, password: expected.password };
  return (req, res, next) => {
    const given = parseBasicAuth(req.headers.authorization);
    if (given && credentialsMatch(given, want)) {
      next();
      return;
    }
    res
      .status(401)
      .set('WWW-Authenticate', `Basic realm="${AUTH_REALM}", charset="UTF-8"`)
      .set('Cache-Control', 'no-store')
      .json({ error: 'authentication required' });
  };
}
