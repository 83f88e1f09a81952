import { Redis } from 'ioredis';
import { describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/errors.js';
import { findRedisServer, HOW_TO_GET_REDIS, startPrivateRedis } from '../../src/infra/private-redis.js';
import { provideRedis } from '../../src/infra/redis.js';

describe('private redis-server', () => {
  it('starts on a free port, answers, enforces noeviction and survives a restart with AOF', async () => {
    const server = await startPrivateRedis({ appendOnly: true });
    const client = new Redis(server.url, { maxRetriesPerRequest: null });
    try {
      expect(await client.ping()).toBe('PONG');
      expect(await client.config('GET', 'maxmemory-policy')).toEqual(['maxmemory-policy', 'noeviction']);
      await client.set('k', 'v');
      await server.restart();
      expect(await client.get('k')).toBe('v');
    } finally {
      client.disconnect();
      await server.stop();
    }
  });

  it('fails with one line saying how to get Redis when none is installed', async () => {
    expect(findRedisServer('/nonexistent')).toBeDefined(); // the fallback folders still find the real one here
    await expect(startPrivateRedis({ binary: '/nonexistent/redis-server' })).rejects.toBeInstanceOf(
      EnvironmentError,
    );
    expect(HOW_TO_GET_REDIS).not.toContain('\n');
  });

  it('provideRedis uses REDIS_URL as given and starts nothing', async () => {
    const handle = await provideRedis('redis://127.0.0.1:1');
    expect(handle).toMatchObject({ url: 'redis://127.0.0.1:1', private: false });
    await handle.release();
  });
});
