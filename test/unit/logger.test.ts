import { Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createLogger } from '../../src/infra/logger.js';

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
