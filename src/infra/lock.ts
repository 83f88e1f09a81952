import type { Redis } from 'ioredis';

/** Deletes the lock only if it still holds our token (it may have lapsed and been taken since). */
const RELEASE = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0`;
/** Extends the lock only if it still holds our token. */
const RENEW = `if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end return 0`;

/**
 * A lock in one Redis key that lapses with its holder: taken with a token for `ttlMs`, renewed and
 * released only by the holder of that token. A sync of a name and a schedule's firing use it.
 */
export const redisLock = {
  async take(redis: Redis, key: string, token: string, ttlMs: number): Promise<boolean> {
    return (await redis.set(key, token, 'PX', ttlMs, 'NX')) === 'OK';
  },
  async renew(redis: Redis, key: string, token: string, ttlMs: number): Promise<boolean> {
    return (await redis.eval(RENEW, 1, key, token, ttlMs)) === 1;
  },
  async release(redis: Redis, key: string, token: string): Promise<void> {
    await redis.eval(RELEASE, 1, key, token);
  },
};
