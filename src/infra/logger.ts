import { Writable } from 'node:stream';
import { type DestinationStream, type Logger, pino } from 'pino';
import pretty from 'pino-pretty';

export type { Logger } from 'pino';

/** Paths pino blanks out wherever they appear in a log object. */
export const REDACT_PATHS = [
  'authorization',
  'Authorization',
  'headers.authorization',
  'headers.Authorization',
  '*.headers.authorization',
  '*.headers.Authorization',
  'req.headers.authorization',
  'apiKey',
  '*.apiKey',
  'api_key',
  '*.api_key',
  'braze.apiKey',
  'config.braze.apiKey',
];

export interface LoggerOptions {
  level?: string;
  format?: 'auto' | 'json' | 'pretty';
  /** Values scrubbed from every line however they got there (the API key). */
  secrets?: Array<string | undefined>;
  /** Defaults to stderr: stdout belongs to command output such as `--json` summaries. */
  destination?: DestinationStream;
  name?: string;
}

/**
 * JSON lines by default, readable on a TTY. Redaction by path catches structured fields; the scrub
 * stream catches a secret that slipped into a message or an error text.
 */
export function createLogger(options: LoggerOptions = {}): Logger {
  const secrets = (options.secrets ?? []).filter((s): s is string => typeof s === 'string' && s.length >= 4);
  const usePretty =
    options.format === 'pretty' ||
    (options.format !== 'json' && !options.destination && process.stderr.isTTY);
  const base: DestinationStream =
    options.destination ??
    (usePretty
      ? pretty({ destination: 2, sync: true, colorize: true, translateTime: 'SYS:HH:MM:ss.l' })
      : pino.destination({ dest: 2, sync: true }));
  const destination = secrets.length > 0 ? scrubbing(base, secrets) : base;
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name ?? 'braze-import',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
    },
    destination,
  );
}

function scrubbing(target: DestinationStream, secrets: string[]): DestinationStream {
  const stream = new Writable({
    write(chunk: Buffer | string, _enc, done) {
      let line = chunk.toString();
      for (const s of secrets) if (line.includes(s)) line = line.split(s).join('[redacted]');
      target.write(line);
      done();
    },
  });
  return stream;
}

/** A logger that writes nowhere, for tests and library callers that pass none. */
export function silentLogger(): Logger {
  return pino({ level: 'silent' });
}
