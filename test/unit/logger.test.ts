import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger, hashId } from '../../src/infra/logger.js';

function capture() {
  const lines: string[] = [];
  const destination = new Writable({
    write(chunk, _enc, done) {
      lines.push(...chunk.toString().split('\n').filter(Boolean));
      done();
    },
  });
  return { lines, destination };
}

describe('logger', () => {
  it('writes JSON and redacts authorization headers and api keys by path', () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination });
    log.info(
      { headers: { authorization: 'Bearer abc123' }, apiKey: 'abc123', config: { braze: { apiKey: 'k1' } } },
      'x',
    );
    const entry = JSON.parse(lines[0]!);
    expect(entry.headers.authorization).toBe('[redacted]');
    expect(entry.apiKey).toBe('[redacted]');
    expect(entry.config.braze.apiKey).toBe('[redacted]');
    expect(lines[0]).not.toContain('abc123');
  });

  it('scrubs a known secret that slipped into a message or error', () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, secrets: ['sk-live-123456'] });
    log.error({ err: new Error('request failed with key sk-live-123456') }, 'using sk-live-123456 now');
    expect(lines.join('\n')).not.toContain('sk-live-123456');
    expect(lines.join('\n')).toContain('[redacted]');
  });
});

describe('logger with redactIds (--redact-ids)', () => {
  it('hashes externalId, external_id and userId wherever they appear, the same value alike', () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, redactIds: true });
    log.info(
      {
        externalId: 'user-42',
        nested: { external_id: 'user-42', deeper: [{ userId: 'user-7' }] },
        externalIds: ['not-an-id-field'],
        line: 12,
        code: 'missing_id',
      },
      'row rejected',
    );
    log.child({ userId: 'user-7' }).warn({ external_id: 'user-42' }, 'child line');
    const all = lines.join('\n');
    expect(all).not.toContain('user-42');
    expect(all).not.toContain('user-7');
    const first = JSON.parse(lines[0]!);
    expect(first.externalId).toBe(hashId('user-42'));
    expect(first.externalId).toMatch(/^id:[0-9a-f]{12}$/);
    expect(first.nested.external_id).toBe(first.externalId);
    expect(first.nested.deeper[0].userId).toBe(hashId('user-7'));
    // Other fields are left alone.
    expect(first).toMatchObject({ line: 12, code: 'missing_id', msg: 'row rejected' });
    expect(first.externalIds).toEqual(['not-an-id-field']);
    const second = JSON.parse(lines[1]!);
    expect(second.userId).toBe(hashId('user-7'));
    expect(second.external_id).toBe(hashId('user-42'));
  });

  it('hashes arrays of identifiers and numbers, leaves errors, null and the caller object alone', () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, redactIds: true });
    const obj = { external_id: ['a-1', 'a-2'], userId: 12345, externalId: null, err: new Error('boom') };
    log.error(obj, 'x');
    const entry = JSON.parse(lines[0]!);
    expect(entry.external_id).toEqual([hashId('a-1'), hashId('a-2')]);
    expect(entry.userId).toBe(hashId(12345));
    expect(entry.externalId).toBeNull();
    expect(entry.err.message).toBe('boom');
    expect(entry.err.stack).toContain('Error: boom');
    expect(obj.external_id).toEqual(['a-1', 'a-2']);
  });

  it('still redacts secrets by path and by value when ids are hashed', () => {
    const { lines, destination } = capture();
    const log = createLogger({ destination, redactIds: true, secrets: ['sk-live-999999'] });
    log.info({ headers: { authorization: 'Bearer sk-live-999999' }, externalId: 'u1' }, 'key sk-live-999999');
    const all = lines.join('\n');
    expect(all).not.toContain('sk-live-999999');
    expect(JSON.parse(lines[0]!).headers.authorization).toBe('[redacted]');
  });

  it('without redactIds identifiers are logged as they are', () => {
    const { lines, destination } = capture();
    createLogger({ destination }).info({ externalId: 'user-42' }, 'x');
    expect(JSON.parse(lines[0]!).externalId).toBe('user-42');
  });

  it('BRAZE_IMPORT_REDACT_IDS and the --redact-ids override set config.log.redactIds', () => {
    expect(loadConfig({}).log.redactIds).toBe(false);
    expect(loadConfig({ BRAZE_IMPORT_REDACT_IDS: 'true' }).log.redactIds).toBe(true);
    expect(loadConfig({ BRAZE_IMPORT_REDACT_IDS: '0' }).log.redactIds).toBe(false);
    expect(loadConfig({}, { redactIds: true }).log.redactIds).toBe(true);
    expect(() => loadConfig({ BRAZE_IMPORT_REDACT_IDS: 'maybe' })).toThrow(/BRAZE_IMPORT_REDACT_IDS/);
  });

  it('a logger built from config.log hashes ids when the setting is on', () => {
    const { lines, destination } = capture();
    const config = loadConfig({ BRAZE_IMPORT_REDACT_IDS: 'yes', LOG_LEVEL: 'debug' });
    createLogger({ ...config.log, destination }).debug({ externalId: 'user-9' }, 'x');
    expect(JSON.parse(lines[0]!).externalId).toBe(hashId('user-9'));
  });
});
