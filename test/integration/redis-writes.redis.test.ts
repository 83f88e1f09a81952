import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { closeRedis, coalesceWrites, connectRedis, createRedis } from '../../src/infra/redis.js';
import { testRedisUrl } from '../helpers/redis.js';

/** Counts the socket's trips to the kernel: one per _write, one per _writev (however many chunks). */
function countWrites(socket: Socket): { calls: number; chunks: number } {
  const seen = { calls: 0, chunks: 0 };
  const s = socket as Socket & {
    _write: (...a: unknown[]) => void;
    _writev: (chunks: unknown[], cb: unknown) => void;
  };
  const write = s._write;
  const writev = s._writev;
  s._write = function (this: Socket, ...a: unknown[]) {
    seen.calls++;
    seen.chunks++;
    return write.apply(this, a);
  };
  s._writev = function (this: Socket, chunks: unknown[], cb: unknown) {
    seen.calls++;
    seen.chunks += chunks.length;
    return writev.call(this, chunks, cb);
  };
  return seen;
}

describe('coalesceWrites', () => {
  let server: Server;
  let received = '';
  let port = 0;
  beforeAll(async () => {
    server = createServer((sock) => sock.on('data', (d) => (received += d.toString())));
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as { port: number }).port;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  it('sends what one turn of the event loop writes in one trip, bytes and order unchanged', async () => {
    const socket = tcpConnect(port, '127.0.0.1');
    await new Promise((r) => socket.once('connect', r));
    coalesceWrites(socket);
    coalesceWrites(socket); // a second call (a reconnect handler firing twice) changes nothing
    const seen = countWrites(socket);
    socket.write('one ');
    socket.write(Buffer.from('two '));
    await Promise.resolve();
    socket.write('three '); // a promise continuation in the same turn
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual({ calls: 1, chunks: 3 });
    socket.write('four'); // a later turn: its own trip
    await new Promise((r) => setImmediate(r));
    expect(seen).toEqual({ calls: 2, chunks: 4 });
    await new Promise<void>((r) => socket.end(r));
    await expect.poll(() => received).toBe('one two three four');
  });
});

describe('Redis connections from createRedis', () => {
  it('answer pipelined commands correctly, in far fewer writes than commands', async () => {
    const url = testRedisUrl();
    const redis = await connectRedis(createRedis(url, 'worker', 'coalesce-test'), url);
    try {
      const seen = countWrites(redis.stream as Socket);
      const key = `coalesce-${process.pid}-${Date.now()}`;
      // 200 commands issued in one turn, as 32 chunks in flight issue them when replies arrive together.
      const replies = await Promise.all(Array.from({ length: 200 }, () => redis.incr(key)));
      expect(replies).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
      expect(seen.chunks).toBe(200);
      expect(seen.calls).toBeLessThanOrEqual(2);
      await redis.del(key);
    } finally {
      await closeRedis(redis);
    }
  });
});
