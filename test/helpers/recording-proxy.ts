import { spawn } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import { fileURLToPath } from 'node:url';
import { request } from 'undici';
import { listeningChild } from '../../bench/emulator-process.js';

/** One request that passed through the proxy: when it arrived, where to, Braze's answer, its body. */
export interface Recorded {
  at: number;
  path: string;
  status: number;
  body: unknown;
}

/**
 * An HTTP proxy in front of the emulator that records every request it forwards (arrival time, path,
 * status, parsed JSON body): what a test compares with what should have been sent.
 */
export async function startRecordingProxy(upstream: () => string): Promise<{
  url: string;
  requests: Recorded[];
  close: () => Promise<void>;
}> {
  const requests: Recorded[] = [];
  const server: Server = createServer((req, res) => {
    const at = Date.now();
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', async () => {
      const raw = Buffer.concat(chunks);
      try {
        const up = await request(`${upstream()}${req.url}`, {
          method: (req.method ?? 'POST') as 'POST',
          headers: { authorization: req.headers.authorization ?? '', 'content-type': 'application/json' },
          ...(raw.length > 0 ? { body: raw } : {}),
        });
        const text = await up.body.text();
        let body: unknown = null;
        try {
          body = raw.length > 0 ? JSON.parse(raw.toString('utf8')) : null;
        } catch {
          body = raw.toString('utf8');
        }
        requests.push({ at, path: req.url ?? '', status: up.statusCode, body });
        res.writeHead(up.statusCode, { 'content-type': 'application/json' });
        res.end(text);
      } catch {
        res.destroy();
      }
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const addr = server.address();
  const url = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  return { url, requests, close: () => new Promise<void>((r) => server.close(() => r())) };
}

/** One request as the arrival proxy saw it. */
export interface Arrival {
  at: number;
  path: string;
  status: number;
}

/**
 * `arrival-proxy.mjs` in a child process in front of `upstream`: arrival times a stall of the test's
 * own process cannot bunch. `arrivals()` reads every arrival so far.
 */
export async function startArrivalProxy(upstream: string): Promise<{
  url: string;
  arrivals: () => Promise<Arrival[]>;
  close: () => Promise<void>;
}> {
  const script = fileURLToPath(new URL('./arrival-proxy.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, upstream], { stdio: ['ignore', 'pipe', 'inherit'] });
  const { url, closed } = await listeningChild(child, 'the arrival proxy');
  return {
    url,
    async arrivals() {
      const res = await request(`${url}/_proxy/arrivals`);
      return (await res.body.json()) as Arrival[];
    },
    async close() {
      child.kill('SIGTERM');
      await closed;
    },
  };
}
