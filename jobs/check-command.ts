import type { Command } from 'commander';
import { loadConfig } from '../src/config.js';
import { describeError, UsageError } from '../src/errors.js';
import { createLogger } from '../src/infra/logger.js';
import { checkEvictionPolicy, connectRedis, createRedis, safeRedisUrl } from '../src/infra/redis.js';

/**
 * What Braze's answer to an empty `/users/track` body says about the key. The body holds no object,
 * so nothing is written and no data point is spent; it costs one request of the rate limit.
 */
export function judgeKeyAnswer(status: number): { ok: boolean; text: string } {
  if (status === 400 || (status >= 200 && status < 300))
    return { ok: true, text: `accepted (Braze answered ${status} to an empty request, as expected)` };
  if (status === 429)
    return { ok: true, text: 'accepted (Braze answered 429: rate limited, so the key is known)' };
  if (status === 401)
    return { ok: false, text: 'refused (401): a wrong key, a key of another instance, or quotes around it' };
  if (status === 403)
    return {
      ok: false,
      text: 'refused (403): the key lacks the users.track permission, or the account is inactive',
    };
  if (status === 404) return { ok: false, text: 'not found (404): check BRAZE_REST_ENDPOINT' };
  return { ok: false, text: `could not be verified: Braze answered ${status}` };
}

/** `braze-import check`: validate the environment, verify the API key, reach Redis. Exit 2 on any problem. */
export function checkCommand(program: Command): void {
  program
    .command('check')
    .description(
      'validate configuration, verify the API key with an empty /users/track request (writes nothing) and reach Redis',
    )
    .option('--api-key-file <file>', 'read the Braze API key from FILE instead of BRAZE_API_KEY')
    .option('--allow-endpoint <url>', 'accept BRAZE_REST_ENDPOINT although it is not a Braze REST host')
    .option('--no-verify-key', 'do not send the empty request that verifies the key')
    .action(async (opts: { apiKeyFile?: string; allowEndpoint?: string; verifyKey: boolean }) => {
      const config = loadConfig(process.env, opts);
      const log = createLogger({ ...config.log, secrets: [config.braze.apiKey] });
      const out = (line: string) => process.stdout.write(`${line}\n`);
      const problems: string[] = [];
      const { endpoint, apiKey } = config.braze;
      out(`Braze endpoint:   ${endpoint ?? '(not set: BRAZE_REST_ENDPOINT)'}`);
      if (!endpoint) problems.push('BRAZE_REST_ENDPOINT: not set (e.g. https://rest.iad-01.braze.com)');
      out(`Braze API key:    ${apiKey ? 'set' : '(not set: BRAZE_API_KEY)'}`);
      if (!apiKey) problems.push('BRAZE_API_KEY: not set (or pass --api-key-file FILE)');
      if (endpoint && apiKey && opts.verifyKey) {
        const verdict = await verifyKey(endpoint, apiKey, config.braze.requestTimeoutMs);
        out(`Key check:        ${verdict.text}`);
        if (!verdict.ok) problems.push(`BRAZE_API_KEY: ${verdict.text}`);
      }
      const limits = config.braze.trackRateLimits.map((l) => `${l.max} requests per ${l.windowMs} ms`);
      out(`Track rate limit: ${limits.join(', ')}`);
      out(`Objects/request:  ${config.braze.maxObjects}${config.braze.legacyPerArray ? ' per array' : ''}`);
      if (!config.redisUrl) {
        out('Redis:            (REDIS_URL not set: single-machine commands start a private redis-server)');
      } else {
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
      }
      if (problems.length > 0) throw new UsageError(problems);
    });
}

async function verifyKey(endpoint: string, apiKey: string, timeoutMs: number) {
  // Loaded here: undici is for the commands that talk to Braze.
  const { createTrackClient } = await import('../src/send/http.js');
  const client = createTrackClient({
    endpoint,
    apiKey,
    connections: 1,
    timeoutMs: Math.min(timeoutMs, 15_000),
  });
  try {
    const answer = await client.track('{}');
    return judgeKeyAnswer(answer.status);
  } catch (err) {
    return { ok: false, text: `could not be verified: ${describeError(err)}` };
  } finally {
    await client.close();
  }
}
