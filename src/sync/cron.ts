import { CronExpressionParser } from 'cron-parser';

/**
 * Cron and time-zone checks for `schedule set`, with the parser BullMQ's job schedulers use
 * (cron-parser, the version bullmq depends on), so that what passes here fires there.
 */

/** The IANA name Intl knows it by (`europe/berlin` -> `Europe/Berlin`), or undefined. */
export function canonicalTimeZone(tz: string): string | undefined {
  try {
    return new Intl.DateTimeFormat('en-US', { timeZone: tz }).resolvedOptions().timeZone;
  } catch {
    return undefined;
  }
}

/**
 * The problem with a cron expression, or undefined: 5 fields (minute first) or 6 (second first), or
 * an alias such as @daily. cron-parser alone would take 4 fields, which is more likely a typo.
 */
export function cronProblem(cron: string, tz: string): string | undefined {
  const fields = cron.trim().split(/\s+/);
  const alias = fields.length === 1 && fields[0]!.startsWith('@');
  if (!alias && fields.length !== 5 && fields.length !== 6) {
    return `--cron: expected 5 fields (minute hour day month weekday) or 6 (second first), got ${fields.length} in "${cron}"`;
  }
  try {
    CronExpressionParser.parse(cron, { tz, currentDate: new Date() }).next();
    return undefined;
  } catch (err) {
    return `--cron: not a cron expression that ever fires ("${cron}"): ${(err as Error).message}`;
  }
}

/** The next firing after `from`, or undefined if there is none. */
export function nextFiring(cron: string, tz: string, from: Date = new Date()): Date | undefined {
  try {
    return CronExpressionParser.parse(cron, { tz, currentDate: from }).next().toDate();
  } catch {
    return undefined;
  }
}

/** "2026-12-01 02:00:00" as the clocks in `tz` show it. */
export function clockIn(ms: number, tz: string): string {
  const parts = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    year: 'numeric',
    month: '2-digit',
    day: '2-digit',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
    hourCycle: 'h23',
  }).formatToParts(new Date(ms));
  const p = (type: Intl.DateTimeFormatPartTypes) => parts.find((x) => x.type === type)?.value ?? '??';
  return `${p('year')}-${p('month')}-${p('day')} ${p('hour')}:${p('minute')}:${p('second')}`;
}
