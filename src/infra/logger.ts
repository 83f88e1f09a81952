import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';
import { Writable } from 'node:stream';
import { type DestinationStream, type Logger, type LoggerOptions as PinoOptions, pino } from 'pino';
import { stderrTty } from './tty.js';

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
  /** Replace user identifiers (see ID_FIELDS) with a short hash wherever they appear (`--redact-ids`). */
  redactIds?: boolean;
}

/** Fields whose values identify a user; with redactIds they are logged as `id:<sha256 prefix>`. */
export const ID_FIELDS: ReadonlySet<string> = new Set(['externalId', 'external_id', 'userId', 'user_id']);

/**
 * `id:` and the first 12 hex digits of the value's sha256: the same user hashes alike in every line
 * and process (so lines can be correlated, and an operator who knows an id can find its lines), but
 * the id itself is not written. Not a secret-grade pseudonym: low-entropy ids can be guessed back.
 */
export function hashId(value: unknown): string {
  return `id:${createHash('sha256').update(String(value)).digest('hex').slice(0, 12)}`;
}

const MAX_DEPTH = 8;

/** The value of an identifier field, hashed: one id, a list of ids, or an object holding id fields. */
function hashField(value: unknown): unknown {
  if (value === undefined || value === null) return value;
  if (Array.isArray(value)) return value.map((v) => (typeof v === 'object' ? hashIds(v, 1) : hashId(v)));
  return typeof value === 'object' ? hashIds(value, 1) : hashId(value);
}

/** A copy of `value` with identifier fields hashed at any depth; untouched parts are shared, not copied. */
function hashIds(value: unknown, depth: number): unknown {
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value;
  if (Array.isArray(value)) {
    const next = value.map((v) => hashIds(v, depth + 1));
    return next.some((v, i) => v !== value[i]) ? next : value;
  }
  // Only plain objects: errors, buffers and the like keep their own serializers.
  const proto = Object.getPrototypeOf(value) as unknown;
  if (proto !== Object.prototype && proto !== null) return value;
  let out: Record<string, unknown> | undefined;
  for (const [k, v] of Object.entries(value)) {
    const h = ID_FIELDS.has(k) ? hashField(v) : hashIds(v, depth + 1);
    if (h !== v) {
      out ??= { ...(value as Record<string, unknown>) };
      out[k] = h;
    }
  }
  return out ?? value;
}

/**
 * Top-level id fields go through serializers, the one hook pino applies to log objects and to
 * child bindings alike; formatters.log (log objects only) covers the levels below. Pino runs the
 * formatter first, so it must leave the top-level fields to the serializers.
 */
function idHashing(): Pick<PinoOptions, 'serializers' | 'formatters'> {
  // Passing serializers replaces pino's defaults: keep its error serializer.
  const serializers: NonNullable<PinoOptions['serializers']> = { err: pino.stdSerializers.err };
  for (const f of ID_FIELDS) serializers[f] = hashField;
  const log = (o: Record<string, unknown>): Record<string, unknown> => {
    let out: Record<string, unknown> | undefined;
    for (const [k, v] of Object.entries(o)) {
      if (ID_FIELDS.has(k)) continue;
      const h = hashIds(v, 1);
      if (h !== v) {
        out ??= { ...o };
        out[k] = h;
      }
    }
    return out ?? o;
  };
  return { serializers, formatters: { log } };
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
      ? prettyStream()
      : process.stderr.isTTY
        ? ttyStream()
        : pino.destination({ dest: 2, sync: true }));
  const destination = secrets.length > 0 ? scrubbing(base, secrets) : base;
  return pino(
    {
      level: options.level ?? 'info',
      name: options.name ?? 'braze-import',
      redact: { paths: REDACT_PATHS, censor: '[redacted]' },
      base: { pid: process.pid },
      ...(options.redactIds ? idHashing() : {}),
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

const PRETTY = { colorize: true, translateTime: 'SYS:HH:MM:ss.l' } as const;

/**
 * pino-pretty, loaded only for a terminal: machines and pipes get JSON and never pay for it. Lines go
 * through the terminal's owner (src/infra/tty.ts), so a progress line and log lines never overwrite
 * each other.
 */
function prettyStream(): DestinationStream {
  const pretty = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  return pretty({ ...PRETTY, destination: ttyStream(), sync: true });
}

/** Lines to a terminal's stderr, taking turns with the progress line. */
function ttyStream(): Writable {
  const tty = stderrTty();
  return new Writable({
    write(chunk: Buffer | string, _enc, done) {
      tty.write(chunk.toString());
      done();
    },
  });
}

/**
 * Where the log lines of another thread (the sender thread of `run`, which logs JSON) are written:
 * on a terminal they are made readable like this thread's own, and take turns with the progress line.
 */
export function threadLogSink(format: 'auto' | 'json' | 'pretty'): (line: string) => void {
  const usePretty = format === 'pretty' || (format !== 'json' && process.stderr.isTTY);
  if (!usePretty && process.stderr.isTTY) return (line) => stderrTty().write(line);
  if (!usePretty) return (line) => process.stderr.write(line.endsWith('\n') ? line : `${line}\n`);
  const { prettyFactory } = createRequire(import.meta.url)('pino-pretty') as typeof import('pino-pretty');
  const toText = prettyFactory(PRETTY);
  const tty = stderrTty();
  return (line) => {
    try {
      tty.write(toText(JSON.parse(line)));
    } catch {
      tty.write(line);
    }
  };
}
