import type { IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';

const EMPTY = Buffer.alloc(0);
/** Past this, an oversized body is not even drained: the socket is dropped. */
const DRAIN_LIMIT = 64 * 1024 * 1024;

/**
 * Buffers a request body up to `maxBytes`. An oversized body (by Content-Length or by counting while it
 * streams) is drained and reported as too large, so the 413 reaches a client that is still writing.
 */
export function readBody(
  req: IncomingMessage,
  maxBytes: number,
  done: (tooLarge: boolean, body: Buffer, bytes: number) => void,
): void {
  const declared = Number(req.headers['content-length'] ?? -1);
  let chunks: Buffer[] | null = declared > maxBytes ? null : [];
  let size = 0;
  req.on('data', (chunk: Buffer) => {
    size += chunk.length;
    if (chunks && size > maxBytes) chunks = null;
    if (chunks) chunks.push(chunk);
    else if (size > DRAIN_LIMIT) req.socket.destroy();
  });
  req.on('end', () => {
    if (!chunks) return done(true, EMPTY, size);
    const body =
      chunks.length === 1 ? (chunks[0] as Buffer) : chunks.length === 0 ? EMPTY : Buffer.concat(chunks, size);
    done(false, body, size);
  });
}

export function sendJson(
  res: ServerResponse,
  status: number,
  body: string,
  headers: OutgoingHttpHeaders,
): void {
  headers['content-type'] = 'application/json';
  headers['content-length'] = Buffer.byteLength(body);
  res.writeHead(status, headers);
  res.end(body);
}

export function parseQuery(url: string): URLSearchParams {
  const q = url.indexOf('?');
  return new URLSearchParams(q === -1 ? '' : url.slice(q + 1));
}
