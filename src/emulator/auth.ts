/**
 * API keys and their permissions (shared/braze-api.md §4): each key holds a list of endpoint
 * permissions ("users.track", "users.delete", ...); an unknown key gets 401, a known key without
 * the endpoint's permission 403. The emulator's main key may call everything.
 */
import type { EmulatorOptions } from './options.js';

export type Access = 'ok' | 'denied' | 'unknown';

export interface Keyring {
  access(key: string | undefined, permission: string): Access;
}

export function createKeyring(opts: Pick<EmulatorOptions, 'apiKey' | 'keys'>): Keyring {
  const permissions = new Map<string, ReadonlySet<string>>(
    Object.entries(opts.keys).map(([key, list]) => [key, new Set(list)]),
  );
  return {
    access(key, permission) {
      if (key === undefined) return 'unknown';
      if (key === opts.apiKey) return 'ok';
      const held = permissions.get(key);
      if (held === undefined) return 'unknown';
      return held.has(permission) ? 'ok' : 'denied';
    },
  };
}

/** The key of `Authorization: Bearer KEY` (any case, any spacing); '' for another scheme; undefined without the header. */
export function bearerKey(auth: string | undefined): string | undefined {
  if (auth === undefined) return undefined;
  const m = /^bearer\s+(\S+)\s*$/i.exec(auth);
  return m ? m[1] : '';
}

/** A legacy client's `api_key` in the JSON body. */
export function bodyKey(buf: Buffer): string | undefined {
  try {
    const body: unknown = JSON.parse(buf.toString('utf8'));
    const key =
      typeof body === 'object' && body !== null ? (body as { api_key?: unknown }).api_key : undefined;
    return typeof key === 'string' ? key : undefined;
  } catch {
    return undefined;
  }
}
