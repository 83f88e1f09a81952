/**
 * Errors are named by what happens next, not by where they came from:
 * - UsageError: the user must fix a flag, config or file; exit 2 with one line per problem, no stack.
 * - EnvironmentError: something the machine lacks (e.g. no redis-server); exit 2 with how to get it.
 * - FatalBrazeError: Braze refused us for good (401/403); the run halts; exit 1.
 * - RetryableError: try the same request again later (5xx, timeouts, resets).
 * - RateLimitedError: wait `waitMs`, then retry without spending an attempt.
 * Bad rows are not exceptions: they are Rejection values (see schemas/record.ts).
 */
export class UsageError extends Error {
  readonly exitCode = 2;
  readonly lines: string[];
  constructor(lines: string | string[]) {
    const list = Array.isArray(lines) ? lines : [lines];
    super(list.join('\n'));
    this.name = 'UsageError';
    this.lines = list;
  }
}

export class EnvironmentError extends UsageError {
  constructor(line: string) {
    super(line);
    this.name = 'EnvironmentError';
  }
}

export class FatalBrazeError extends Error {
  readonly exitCode = 1;
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message);
    this.name = 'FatalBrazeError';
  }
}

export class RetryableError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = 'RetryableError';
  }
}

export class RateLimitedError extends Error {
  constructor(readonly waitMs: number) {
    super(`rate limited: retry in ${waitMs} ms`);
    this.name = 'RateLimitedError';
  }
}

/** Exit code for an error that escaped to the top of a command. */
export function exitCodeOf(err: unknown): number {
  if (err instanceof UsageError) return 2;
  return 1;
}

/** One line (or one line per problem) for the user: never a stack trace. */
export function describeError(err: unknown): string {
  if (err instanceof UsageError) return err.lines.join('\n');
  if (err instanceof Error) return err.message.split('\n')[0] ?? String(err);
  return String(err);
}
