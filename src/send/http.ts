import { Pool } from 'undici';
import { RetryableError } from '../errors.js';

export interface HttpAnswer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  text: string;
}

export interface TrackClient {
  /** `body`: the JSON of a /users/track body, as bytes (sent as they are) or text. */
  track(body: Uint8Array | string, signal?: AbortSignal): Promise<HttpAnswer>;
  close(): Promise<void>;
}

export interface TrackClientOptions {
  endpoint: string;
  apiKey: string;
  connections: number;
  timeoutMs: number;
  /** The endpoint's path: /users/track (default) or /users/track/bulk. */
  path?: string;
}

/**
 * One keep-alive undici Pool per endpoint. Network failures (reset, refused, timeout) become
 * RetryableError; their messages never carry headers, so the key cannot leak through them.
 */
export function createTrackClient(options: TrackClientOptions): TrackClient {
  const url = new URL(options.endpoint);
  const path = `${url.pathname.replace(/\/+$/, '')}${options.path ?? '/users/track'}`;
  const pool = new Pool(url.origin, {
    connections: options.connections,
    keepAliveTimeout: 30_000,
    headersTimeout: options.timeoutMs,
    bodyTimeout: options.timeoutMs,
    connectTimeout: Math.min(options.timeoutMs, 10_000),
  });
  const headers = {
    'content-type': 'application/json',
    authorization: `Bearer ${options.apiKey}`,
    'x-braze-bulk': 'true',
    'user-agent': 'braze-bulk-import',
  };
  return {
    async track(body, signal) {
      try {
        const res = await pool.request({
          method: 'POST',
          path,
          headers,
          body,
          signal,
        });
        const text = await res.body.text();
        return { status: res.statusCode, headers: res.headers, text };
      } catch (err) {
        const e = err as Error & { code?: string };
        throw new RetryableError(`request failed: ${e.code ?? e.name}${e.message ? ` (${e.message})` : ''}`);
      }
    },
    close: () => pool.close(),
  };
}
