import type { Redis } from 'ioredis';
import { UsageError } from '../src/errors.js';
import { closeRedis, connectRedis, createRedis } from '../src/infra/redis.js';
import { createRunStore, type RunStore } from '../src/runs/store.js';
import { requireRedisUrl, setup } from './common.js';

export interface StateContext {
  runs: RunStore;
  prefix: string;
  redis: Redis;
}

/** Runs a body with a run store on REDIS_URL, closing the connection afterwards. */
export async function withRuns<T>(what: string, body: (ctx: StateContext) => Promise<T>): Promise<T> {
  const { config } = setup();
  const url = requireRedisUrl(config, what);
  const redis = await connectRedis(createRedis(url, 'producer', `braze-import:${what}`), url);
  try {
    const runs = createRunStore(redis, config.prefix, config.retentionMs);
    return await body({ runs, prefix: config.prefix, redis });
  } finally {
    await closeRedis(redis);
  }
}

export async function runOrLatest(runs: RunStore, runId: string | undefined): Promise<string> {
  if (runId) {
    if (!(await runs.get(runId)))
      throw new UsageError(`no run ${runId} (runs are kept for the retention period)`);
    return runId;
  }
  const [latest] = await runs.list(1);
  if (!latest) throw new UsageError('no runs yet');
  return latest;
}
