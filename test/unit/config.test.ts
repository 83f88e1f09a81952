import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { parseRateLimit } from '../../schemas/config.js';
import { checkEndpoint, loadConfig, requireBraze } from '../../src/config.js';
import { UsageError } from '../../src/errors.js';

function problems(env: Record<string, string>, overrides = {}): string[] {
  try {
    loadConfig(env, overrides);
  } catch (err) {
    expect(err).toBeInstanceOf(UsageError);
    return (err as UsageError).lines;
  }
  throw new Error('expected a UsageError');
}

describe('loadConfig', () => {
  it('applies defaults for an empty environment', () => {
    const c = loadConfig({});
    expect(c.braze.trackRateLimit).toEqual({ max: 3000, windowMs: 3000 });
    expect(c.braze.maxObjects).toBe(75);
    expect(c.braze.legacyPerArray).toBe(false);
    expect(c.redisUrl).toBeUndefined();
    expect(c.maxBacklogBytes).toBe(64 * 1024 * 1024);
    expect(c.retentionMs).toBe(14 * 86_400_000);
  });

  it('reads every variable', () => {
    const c = loadConfig({
      BRAZE_REST_ENDPOINT: 'https://rest.fra-01.braze.eu/',
      BRAZE_API_KEY: ' secret-key ',
      REDIS_URL: 'rediss://:pw@redis.example:6380/2',
      BRAZE_TRACK_RATE_LIMIT: '50000/1m',
      BRAZE_MAX_OBJECTS: '50',
      BRAZE_LEGACY_PER_ARRAY: 'true',
      BRAZE_IMPORT_RETENTION_DAYS: '3',
    });
    expect(c.braze.endpoint).toBe('https://rest.fra-01.braze.eu');
    expect(c.braze.apiKey).toBe('secret-key');
    expect(c.redisUrl).toBe('rediss://:pw@redis.example:6380/2');
    expect(c.braze.trackRateLimit).toEqual({ max: 50000, windowMs: 60_000 });
    expect(c.braze.maxObjects).toBe(50);
    expect(c.braze.legacyPerArray).toBe(true);
    expect(c.retentionMs).toBe(3 * 86_400_000);
  });

  it('reports every problem at once, one line each, quoting the bad value', () => {
    const lines = problems({
      BRAZE_TRACK_RATE_LIMIT: 'fast',
      BRAZE_MAX_OBJECTS: '500',
      REDIS_URL: 'localhost:6379',
      LOG_LEVEL: 'loud',
      BRAZE_REST_ENDPOINT: 'http://example.com',
    });
    expect(lines).toHaveLength(5);
    expect(lines.find((l) => l.startsWith('BRAZE_TRACK_RATE_LIMIT:'))).toContain('"fast"');
    expect(lines.find((l) => l.startsWith('BRAZE_MAX_OBJECTS:'))).toContain('"500"');
    expect(lines.find((l) => l.startsWith('REDIS_URL:'))).toContain('redis://');
    expect(lines.find((l) => l.startsWith('LOG_LEVEL:'))).toBeDefined();
    expect(lines.find((l) => l.startsWith('BRAZE_REST_ENDPOINT:'))).toContain('https');
    for (const l of lines) expect(l).not.toContain('\n');
  });

  it('never quotes the API key in a problem', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const lines = problems(
      { BRAZE_API_KEY: 'super-secret', BRAZE_MAX_OBJECTS: 'x' },
      { apiKeyFile: join(dir, 'nope') },
    );
    expect(lines.join('\n')).not.toContain('super-secret');
    expect(lines.some((l) => l.startsWith('--api-key-file:'))).toBe(true);
  });

  it('reads the key from --api-key-file, over the environment', () => {
    const dir = mkdtempSync(join(tmpdir(), 'cfg-'));
    const file = join(dir, 'key');
    writeFileSync(file, 'from-file\n');
    expect(loadConfig({ BRAZE_API_KEY: 'from-env' }, { apiKeyFile: file }).braze.apiKey).toBe('from-file');
  });

  it('requireBraze names what is missing', () => {
    expect(() => requireBraze(loadConfig({}))).toThrow(/BRAZE_REST_ENDPOINT[\s\S]*BRAZE_API_KEY/);
    const ok = requireBraze(loadConfig({ BRAZE_REST_ENDPOINT: 'http://127.0.0.1:4010', BRAZE_API_KEY: 'k' }));
    expect(ok).toEqual({ endpoint: 'http://127.0.0.1:4010', apiKey: 'k' });
  });
});

describe('checkEndpoint', () => {
  it.each([
    'https://rest.iad-01.braze.com',
    'https://rest.fra-02.braze.eu',
    'http://127.0.0.1:4010',
    'http://localhost:4010',
    'http://[::1]:4010',
  ])('accepts %s', (url) => expect(checkEndpoint(url)).toBeUndefined());

  it.each([
    ['http://rest.iad-01.braze.com', /https/],
    ['https://evil.example.com', /not a Braze REST host/],
    ['https://rest.iad-01.braze.com.evil.io', /not a Braze REST host/],
    ['https://user:pw@rest.iad-01.braze.com', /credentials/],
    ['not a url', /not a URL/],
  ])('rejects %s', (url, why) => expect(checkEndpoint(url)).toMatch(why));

  it('accepts a named --allow-endpoint', () => {
    expect(checkEndpoint('https://proxy.corp:8443/braze', 'https://proxy.corp:8443')).toBeUndefined();
  });
});

describe('parseRateLimit', () => {
  it.each([
    ['3000/3s', { max: 3000, windowMs: 3000 }],
    ['20000/1m', { max: 20000, windowMs: 60000 }],
    ['250000/h', { max: 250000, windowMs: 3600000 }],
    ['90/100ms', { max: 90, windowMs: 100 }],
  ])('%s', (text, expected) => expect(parseRateLimit(text)).toEqual(expected));
  it.each(['', '3000', '0/3s', '3000/3x', 'a/b'])('rejects %j', (t) =>
    expect(parseRateLimit(t)).toBeUndefined(),
  );
});
