import { networkInterfaces } from 'node:os';
import type { RequestHandler } from 'express';
import helmet from 'helmet';
import type { Logger } from '../infra/logger.js';

/**
 * Headers on every response: a CSP that allows our own origin only (no third-party fonts or
 * scripts, no inline script), no framing (`frame-ancestors 'none'` and `X-Frame-Options: DENY`),
 * `nosniff`, no referrer. No HSTS: the dashboard speaks plain HTTP; a TLS proxy in front sets it.
 * Inline styles stay allowed because bull-board's UI sets some; scripts do not.
 */
export function securityHeaders(): RequestHandler {
  return helmet({
    contentSecurityPolicy: {
      useDefaults: false,
      directives: {
        defaultSrc: ["'self'"],
        scriptSrc: ["'self'"],
        styleSrc: ["'self'", "'unsafe-inline'"],
        imgSrc: ["'self'", 'data:'],
        fontSrc: ["'self'"],
        connectSrc: ["'self'"],
        objectSrc: ["'none'"],
        baseUri: ["'self'"],
        formAction: ["'self'"],
        frameAncestors: ["'none'"],
      },
    },
    frameguard: { action: 'deny' },
    strictTransportSecurity: false,
    referrerPolicy: { policy: 'no-referrer' },
    crossOriginResourcePolicy: { policy: 'same-origin' },
  });
}

const LOCAL_NAMES = ['localhost', 'localhost.', '127.0.0.1', '::1'];
const WILDCARDS = new Set(['0.0.0.0', '::', '']);

/** `host:port`, `[v6]:port` or a bare name: the name, lower-cased and without brackets. */
export function hostnameOf(hostHeader: string): string {
  const h = hostHeader.trim().toLowerCase();
  if (h.startsWith('[')) return h.slice(1, h.indexOf(']') > 0 ? h.indexOf(']') : undefined);
  const colon = h.lastIndexOf(':');
  return colon >= 0 && h.indexOf(':') === colon ? h.slice(0, colon) : h;
}

/**
 * The names a request may be addressed to: localhost names, the address the dashboard is bound to
 * (on a wildcard bind, every address of this machine's interfaces), and the names given for a proxy
 * in front (`--public-host`). Anything else is a DNS rebinding attempt or a misrouted request.
 */
export function allowedHosts(bound: string, publicHosts: readonly string[] = []): Set<string> {
  const names = new Set<string>([...LOCAL_NAMES, ...publicHosts.map((h) => hostnameOf(h))]);
  if (WILDCARDS.has(bound)) {
    for (const list of Object.values(networkInterfaces()))
      for (const a of list ?? []) names.add(a.address.toLowerCase());
  } else {
    names.add(hostnameOf(bound.includes(':') ? `[${bound}]` : bound));
  }
  return names;
}

/** 421 for a Host header not in the allow-list; `/healthz` answers any (probes address the pod IP). */
export function hostGuard(allowed: Set<string>, log?: Logger): RequestHandler {
  return (req, res, next) => {
    const host = req.headers.host;
    if (req.path === '/healthz' || (host && allowed.has(hostnameOf(host)))) {
      next();
      return;
    }
    log?.warn(
      { host: host?.slice(0, 100), path: req.path.slice(0, 100) },
      'dashboard: request for a host it does not serve refused',
    );
    res.status(421).set('Cache-Control', 'no-store').type('text').send('misdirected request: unknown Host\n');
  };
}

const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

/**
 * Refuses a state-changing request that a browser sent from another site (CSRF, a framed page): its
 * `Origin` must be this dashboard's own (the Host, already allow-listed), and `Sec-Fetch-Site`, when
 * sent, must say same-origin. A request with neither header does not come from a browser page.
 */
export function originGuard(log?: Logger): RequestHandler {
  return (req, res, next) => {
    if (SAFE_METHODS.has(req.method)) {
      next();
      return;
    }
    const origin = req.headers.origin;
    const site = req.headers['sec-fetch-site'];
    let sameOrigin = origin === undefined;
    if (origin !== undefined) {
      try {
        sameOrigin = origin !== 'null' && new URL(origin).host === (req.headers.host ?? '').toLowerCase();
      } catch {
        sameOrigin = false;
      }
    }
    if (sameOrigin && (site === undefined || site === 'same-origin')) {
      next();
      return;
    }
    log?.warn(
      { method: req.method, path: req.path.slice(0, 100), origin: origin?.slice(0, 100), site },
      'dashboard: cross-site request refused',
    );
    res.status(403).set('Cache-Control', 'no-store').json({ error: 'cross-site requests are refused' });
  };
}

/** Data (pages, JSON, exports, metrics) is never stored by a browser or a proxy. */
export const noStore: RequestHandler = (_req, res, next) => {
  res.set('Cache-Control', 'no-store');
  next();
};
