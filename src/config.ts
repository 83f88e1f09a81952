import { readFileSync } from 'node:fs';
import { envSchema, type RateLimit } from '../schemas/config.js';
import { UsageError } from './errors.js';

/** The only reader of process.env. Everything else receives a Config. */
export interface Config {
  braze: {
    /** Undefined until a command that talks to Braze needs it; see requireBraze(). */
    endpoint: string | undefined;
    apiKey: string | undefined;
    /** The burst limit (the shortest window of trackRateLimits). */
    trackRateLimit: RateLimit;
    /** Every limit of the contract, shortest window first (e.g. 3000/3s and 250000/1h). */
    trackRateLimits: RateLimit[];
    /** Where backfills send by default. */
    backfillEndpoint: 'track' | 'bulk';
    /** /users/track/bulk's limits (backfills with --endpoint bulk), shortest window first. */
    bulkRateLimits: RateLimit[];
    /** The rate group the destination's sending shares (undefined: its own). */
    rateGroup: string | undefined;
    /** The send gate's slack at the start of a run (429s widen it). */
    rateSlackMs: number;
    maxObjects: number;
    legacyPerArray: boolean;
    requestTimeoutMs: number;
  };
  /** 5xx, timeouts, resets: attempts per chunk and the first backoff (doubling, with jitter). */
  retry: { attempts: number; baseMs: number };
  /** A crashed worker's chunks are taken over after lockMs (BullMQ lock and stalled check). */
  worker: { lockMs: number };
  /** How long a graceful stop (first signal) may take before it is forced. */
  shutdownMs: number;
  /** Lanes of a run's chunks (see src/chunk): how many of a run's users' sequences go side by side. */
  lanes: number;
  redisUrl: string | undefined;
  prefix: string;
  maxBacklogBytes: number;
  retentionMs: number;
  /** `explicit`: LOG_LEVEL was set (commands such as demo are quieter by default otherwise). */
  log: {
    level: string;
    format: 'auto' | 'json' | 'pretty';
    explicit: boolean;
    /** --redact-ids / BRAZE_IMPORT_REDACT_IDS: identifiers in logs are hashed (see createLogger). */
    redactIds: boolean;
  };
}

export interface ConfigOverrides {
  /** --api-key-file: wins over BRAZE_API_KEY. */
  apiKeyFile?: string;
  /** --allow-endpoint: an endpoint the user vouches for although it is not a Braze REST host. */
  allowEndpoint?: string;
  /** --redact-ids: hash identifiers in logs even if BRAZE_IMPORT_REDACT_IDS is not set. */
  redactIds?: boolean;
}

const SECRET_VARS = new Set(['BRAZE_API_KEY']);

/** Parse the environment once; every problem is reported at once, one line each. */
export function loadConfig(env: NodeJS.ProcessEnv = process.env, overrides: ConfigOverrides = {}): Config {
  const picked = Object.fromEntries(
    Object.keys(envSchema.shape).map((k) => [k, env[k] === '' ? undefined : env[k]]),
  );
  const parsed = envSchema.safeParse(picked);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const issue of parsed.error.issues) {
      const name = String(issue.path[0] ?? 'environment');
      const shown = SECRET_VARS.has(name) ? '' : quoteValue(env[name]);
      problems.push(`${name}: ${issue.message}${shown}`);
    }
  }
  const e = parsed.success ? parsed.data : undefined;
  const apiKey = readApiKey(overrides.apiKeyFile ?? e?.BRAZE_API_KEY_FILE, e?.BRAZE_API_KEY, problems);
  const endpoint = env['BRAZE_REST_ENDPOINT']?.trim() || undefined;
  if (endpoint !== undefined) {
    const problem = checkEndpoint(endpoint, overrides.allowEndpoint ?? env['BRAZE_ALLOW_ENDPOINT']);
    if (problem) problems.push(`BRAZE_REST_ENDPOINT: ${problem}`);
  }
  if (problems.length > 0 || !e) throw new UsageError(problems);
  return {
    braze: {
      endpoint: endpoint?.replace(/\/+$/, ''),
      apiKey,
      trackRateLimit: e.BRAZE_TRACK_RATE_LIMIT[0]!,
      trackRateLimits: e.BRAZE_TRACK_RATE_LIMIT,
      bulkRateLimits: e.BRAZE_BULK_RATE_LIMIT,
      backfillEndpoint: e.BRAZE_BACKFILL_ENDPOINT,
      rateGroup: e.BRAZE_RATE_GROUP,
      rateSlackMs: e.BRAZE_RATE_SLACK_MS,
      maxObjects: e.BRAZE_MAX_OBJECTS,
      legacyPerArray: e.BRAZE_LEGACY_PER_ARRAY,
      requestTimeoutMs: e.BRAZE_REQUEST_TIMEOUT_MS,
    },
    retry: { attempts: e.BRAZE_RETRY_ATTEMPTS, baseMs: e.BRAZE_RETRY_BASE_MS },
    worker: { lockMs: e.BRAZE_WORKER_LOCK_MS },
    shutdownMs: e.BRAZE_IMPORT_SHUTDOWN_MS,
    lanes: e.BRAZE_IMPORT_LANES,
    redisUrl: e.REDIS_URL,
    prefix: e.BRAZE_IMPORT_PREFIX,
    maxBacklogBytes: e.BRAZE_IMPORT_MAX_BACKLOG_MB * 1024 * 1024,
    retentionMs: e.BRAZE_IMPORT_RETENTION_DAYS * 86_400_000,
    log: {
      level: e.LOG_LEVEL ?? 'info',
      format: e.LOG_FORMAT,
      explicit: e.LOG_LEVEL !== undefined,
      redactIds: overrides.redactIds || e.BRAZE_IMPORT_REDACT_IDS,
    },
  };
}

/** For commands that send to Braze: both settings must be present. */
export function requireBraze(config: Config): { endpoint: string; apiKey: string } {
  const missing: string[] = [];
  if (!config.braze.endpoint)
    missing.push('BRAZE_REST_ENDPOINT: not set (e.g. https://rest.iad-01.braze.com)');
  if (!config.braze.apiKey) missing.push('BRAZE_API_KEY: not set (or pass --api-key-file FILE)');
  if (missing.length > 0 || !config.braze.endpoint || !config.braze.apiKey) throw new UsageError(missing);
  return { endpoint: config.braze.endpoint, apiKey: config.braze.apiKey };
}

const BRAZE_HOST = /^rest\.[a-z0-9-]+\.braze\.(com|eu)$/;
const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/** https to a Braze REST host; plain http only to loopback; anything else only if allowed by name. */
export function checkEndpoint(endpoint: string, allow?: string): string | undefined {
  let url: URL;
  try {
    url = new URL(endpoint);
  } catch {
    return `not a URL${quoteValue(endpoint)}`;
  }
  if (url.username || url.password) return 'must not contain credentials';
  if (LOOPBACK.test(url.hostname)) return undefined;
  if (allow && new URL(allow).origin === url.origin) return undefined;
  if (url.protocol !== 'https:')
    return `must use https (plain http is only allowed to loopback)${quoteValue(endpoint)}`;
  if (!BRAZE_HOST.test(url.hostname)) {
    return `${url.hostname} is not a Braze REST host (rest.*.braze.com or rest.*.braze.eu); pass --allow-endpoint ${url.origin} to use it anyway`;
  }
  return undefined;
}

function readApiKey(
  file: string | undefined,
  fromEnv: string | undefined,
  problems: string[],
): string | undefined {
  if (file === undefined) return fromEnv?.trim() || undefined;
  try {
    const key = readFileSync(file, 'utf8').trim();
    if (!key) problems.push(`--api-key-file: ${file} is empty`);
    return key || undefined;
  } catch (err) {
    problems.push(`--api-key-file: cannot read ${file} (${(err as NodeJS.ErrnoException).code ?? 'error'})`);
    return undefined;
  }
}

function quoteValue(value: string | undefined): string {
  if (value === undefined) return '';
  const short = value.length > 80 ? `${value.slice(0, 77)}...` : value;
  return ` (got "${short}")`;
}
