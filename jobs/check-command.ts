import type { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import { createLogger } from '../src/infra/logger.js';
import { checkEvictionPolicy, connectRedis, createRedis, safeRedisUrl } from '../src/infra/redis.js';

/** `braze-import check`: validate the environment and reach Redis, without sending anything. */
export function checkCommand(program: Command): void {
  program
    .command('check')
    .description('validate configuration and connectivity (Redis, Braze endpoint settings); sends nothing')
    .option('--api-key-file <file>', 'read the Braze API key from FILE instead of BRAZE_API_KEY')
    .option('--allow-endpoint <url>', 'accept BRAZE_REST_ENDPOINT although it is not a Braze REST host')
    .action(async (opts: { apiKeyFile?: string; allowEndpoint?: string }) => {
      const config = loadConfig(process.env, opts);
      const log = createLogger({ ...config.log, secrets: [config.braze.apiKey] });
      const out = (line: string) => process.stdout.write(`${line}\n`);
      out(`Braze endpoint:   ${config.braze.endpoint ?? '(not set: BRAZE_REST_ENDPOINT)'}`);
      out(`Braze API key:    ${config.braze.apiKey ? 'set' : '(not set: BRAZE_API_KEY)'}`);
      const limits = config.braze.trackRateLimits.map((l) => `${l.max} requests per ${l.windowMs} ms`);
      out(`Track rate limit: ${limits.join(', ')}`);
      out(`Objects/request:  ${config.braze.maxObjects}${config.braze.legacyPerArray ? ' per array' : ''}`);
      if (!config.redisUrl) {
        out('Redis:            (REDIS_URL not set: single-machine commands start a private redis-server)');
        return;
      }
      const redis = await connectRedis(
        createRedis(config.redisUrl, 'producer', 'braze-import:check'),
        config.redisUrl,
      );
      try {
        const policy = await checkEvictionPolicy(redis, log);
        out(`Redis:            ${safeRedisUrl(config.redisUrl)} (maxmemory-policy ${policy ?? 'unknown'})`);
      } finally {
        redis.disconnect();
      }
    });
}
