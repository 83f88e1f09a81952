import { createHash } from 'node:crypto';

/**
 * Where a run sends: a Braze REST endpoint and an API key, which together name one workspace. The
 * run record keeps the endpoint and a fingerprint of the key, never the key: a worker sends a run's
 * chunks only when its own endpoint and key give the same destination.
 */
export interface Destination {
  /** The REST endpoint, without a trailing slash. */
  endpoint: string;
  /** sha256 of the key (with a fixed label), 16 hex digits: tells keys apart, gives nothing back. */
  keyFp: string;
  /** Names the pair (endpoint, key) in Redis keys: 12 hex digits. */
  id: string;
}

const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

export function keyFingerprint(apiKey: string): string {
  return sha256(`braze-import key fingerprint v1\0${apiKey}`).slice(0, 16);
}

export function destinationOf(endpoint: string, apiKey: string): Destination {
  const url = endpoint.replace(/\/+$/, '');
  const keyFp = keyFingerprint(apiKey);
  return { endpoint: url, keyFp, id: sha256(`braze-import destination v1\0${url}\0${keyFp}`).slice(0, 12) };
}

/** "https://rest.iad-01.braze.com, key …1a2b3c4d": how a destination is shown to a person. */
export function describeDestination(d: Pick<Destination, 'endpoint' | 'keyFp'>): string {
  return `${d.endpoint}, key fingerprint ${d.keyFp.slice(0, 8)}`;
}
