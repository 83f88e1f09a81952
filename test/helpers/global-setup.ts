import type { TestProject } from 'vitest/node';
import { startPrivateRedis } from '../../src/infra/private-redis.js';

declare module 'vitest' {
  export interface ProvidedContext {
    redisUrl: string;
  }
}

/**
 * One private redis-server for the whole test run, unless REDIS_URL is set. Test files isolate
 * themselves with their own key prefix (see test/helpers/redis.ts).
 */
export default async function setup(project: TestProject) {
  const fromEnv = process.env['REDIS_URL'];
  if (fromEnv) {
    project.provide('redisUrl', fromEnv);
    return;
  }
  const server = await startPrivateRedis();
  project.provide('redisUrl', server.url);
  return async () => {
    await server.stop();
  };
}
