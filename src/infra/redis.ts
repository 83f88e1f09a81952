import type { Writable } from 'node:stream';
import { Redis, type RedisOptions } from 'ioredis';
import { EnvironmentError } from '../errors.js';
import type { Logger } from './logger.js';
import { startPrivateRedis } from './private-redis.js';

/**
 * Producers (CLI commands that enqueue or read state) fail fast when Redis is down: no offline
 * queue, few retries. Workers wait through outages: BullMQ requires maxRetriesPerRequest null.
 */
export type RedisRole = 'producer' | 'worker';

export function redisOptions(role: RedisRole): RedisOptions {
  const backoff = (times: number) => Math.min(100 * 2 ** Math.min(times, 10), 5000);
  if (role === 'worker') {
    return { maxRetriesPerRequest: null, enableReadyCheck: true, retryStrategy: backoff };
  }
  return {
    maxRetriesPerRequest: 2,
    enableOfflineQueue: false,
    connectTimeout: 5000,
    // About a minute of reconnecting before giving up for good (see rideOutRestarts).
    retryStrategy: (times) => (times > 20 ? null : backoff(times)),
  };
}

export function createRedis(url: string, role: RedisRole, name?: string): Redis {
  const opts = redisOptions(role);
  const redis = new Redis(url, { ...opts, connectionName: name, lazyConnect: true });
  // Connection errors surface as failed commands and the client reconnects by itself; without a
  // listener ioredis would also print each one as a raw stack trace.
  redis.on('error', () => {});
  redis.on('connect', () => coalesceWrites(redis.stream));
  return redis;
}

const COALESCED = Symbol('coalesced');

/**
 * Commands written in one turn of the event loop leave in one write (writev) instead of one syscall
 * each; the bytes and their order are unchanged. With 32 chunks in flight, a batch of replies sets off
 * many commands at once: a 100k-row run made 4,280 socket writes instead of 7,746. This is Node's
 * cork/uncork on the socket, below ioredis; ioredis's own enableAutoPipelining regroups commands into
 * pipelines instead, and Bull's users report jobs missing from the active list and empty job data
 * with it (taskforcesh/bullmq#457, OptimalBits/bull#2276).
 */
export function coalesceWrites(stream: Writable): void {
  const s = stream as Writable & { [COALESCED]?: true };
  if (s[COALESCED]) return;
  s[COALESCED] = true;
  const write = s.write;
  let corked = false;
  const flush = () => {
    corked = false;
    s.uncork();
  };
  s.write = function (this: Writable, ...args: Parameters<Writable['write']>) {
    if (!corked) {
      corked = true;
      s.cork();
      process.nextTick(flush);
    }
    return write.apply(this, args);
  } as Writable['write'];
}

/**
 * Connect or fail with one line that names the URL without its password. Once connected, a producer
 * waits out a short outage (a Redis restart) instead of failing its run: commands queue until the
 * connection is back, for about a minute.
 */
export async function connectRedis(redis: Redis, url: string): Promise<Redis> {
  // The first error event says why (WRONGPASS, ECONNREFUSED); the rejected connect only says "closed".
  let cause: Error | undefined;
  const remember = (err: Error) => {
    cause ??= err;
  };
  redis.on('error', remember);
  try {
    await redis.connect();
    await redis.ping();
    redis.options.enableOfflineQueue = true;
    if (redis.options.maxRetriesPerRequest !== null) redis.options.maxRetriesPerRequest = 20;
    return redis;
  } catch (err) {
    redis.disconnect();
    const why = (cause ?? (err as Error)).message;
    throw new EnvironmentError(`cannot reach Redis at ${safeRedisUrl(url)}: ${why}`);
  } finally {
    redis.off('error', remember);
  }
}

/**
 * QUIT when Redis answers; drop the socket when it is not there (a QUIT queued offline would wait for
 * a reconnect) or does not answer within `waitMs`.
 */
export async function closeRedis(redis: Redis, waitMs = 2000): Promise<void> {
  if (redis.status !== 'ready') {
    redis.disconnect();
    return;
  }
  let timer: NodeJS.Timeout | undefined;
  const gaveUp = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, waitMs);
  });
  await Promise.race([redis.quit().catch(() => {}), gaveUp]);
  clearTimeout(timer);
  redis.disconnect();
}

export function safeRedisUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return 'the configured REDIS_URL';
  }
}

/** BullMQ loses jobs if Redis evicts keys; say so loudly (but don't refuse: managed Redis may hide CONFIG). */
export async function checkEvictionPolicy(redis: Redis, log: Logger): Promise<string | undefined> {
  try {
    const info = await redis.info('memory');
    const policy = /maxmemory_policy:(\S+)/.exec(info)?.[1];
    if (policy && policy !== 'noeviction') {
      log.warn(
        { policy },
        `Redis maxmemory-policy is "${policy}": Redis may evict queued chunks and lose rows; set maxmemory-policy noeviction`,
      );
    }
    return policy;
  } catch {
    return undefined;
  }
}

export interface RedisHandle {
  url: string;
  /** True when we started the server ourselves and will stop it. */
  private: boolean;
  release(): Promise<void>;
}

/** REDIS_URL when set; otherwise a private redis-server for the life of this command. */
export async function provideRedis(redisUrl: string | undefined): Promise<RedisHandle> {
  if (redisUrl) return { url: redisUrl, private: false, release: async () => {} };
  const server = await startPrivateRedis();
  return { url: server.url, private: true, release: () => server.stop() };
}
