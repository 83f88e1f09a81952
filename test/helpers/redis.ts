import { randomBytes } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, inject } from 'vitest';

/** The URL of this test run's Redis (private, or REDIS_URL). */
export function testRedisUrl(): string {
  return inject('redisUrl');
}

/** A key prefix no other test shares, so files can run in parallel against one server. */
export function uniquePrefix(name = 't'): string {
  return `${name}-${randomBytes(4).toString('hex')}`;
}

export function testRedis(): Redis {
  return new Redis(testRedisUrl(), { maxRetriesPerRequest: null });
}

/** Deletes every key under a prefix (BullMQ keys are `<prefix>:<queue>:...`). */
export async function deletePrefix(redis: Redis, prefix: string): Promise<void> {
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}:*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) await redis.del(...keys);
  } while (cursor !== '0');
}

/**
 * One connection for a test file, opened before its tests and closed after them, with a fresh key
 * prefix per call of `prefix()`; every key under those prefixes is deleted at the end.
 */
export function useTestRedis(name: string): { redis: () => Redis; prefix: () => string } {
  let redis: Redis | undefined;
  const prefixes: string[] = [];
  beforeAll(() => {
    redis = testRedis();
  });
  afterAll(async () => {
    if (!redis) return;
    for (const p of prefixes) await deletePrefix(redis, p);
    await redis.quit();
  });
  return {
    redis: () => {
      if (!redis) throw new Error('useTestRedis: the connection opens in beforeAll');
      return redis;
    },
    prefix: () => {
      const p = uniquePrefix(name);
      prefixes.push(p);
      return p;
    },
  };
}
