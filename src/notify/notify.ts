import type { Logger } from '../infra/logger.js';
import { isLive } from '../runs/store.js';
import type { Summary } from '../runs/summary.js';

/**
 * What a webhook receives when a run ends, halts or is cancelled: the run's summary as `--json`
 * prints it, plus `text`, a one-line message Slack (and its look-alikes) shows as it is.
 */
export type Notification = Summary & { text: string };

const ICON: Record<string, string> = {
  completed: ':white_check_mark:',
  completed_with_errors: ':warning:',
  halted: ':octagonal_sign:',
  failed: ':x:',
  interrupted: ':pause_button:',
  cancelled: ':no_entry_sign:',
};

const n = (v: number) => v.toLocaleString('en-US');

/** The file name of a source: a channel does not need to know where on a server the input lived. */
const fileName = (source: string) => source.split(/[\\/]/).pop() || source;

export function notificationFor(s: Summary): Notification {
  const parts = [
    `${n(s.rows.read)} rows read`,
    `${n(s.objects.accepted)} objects accepted`,
    `${n(s.objects.failed)} failed`,
    `${n(s.rows.rejected)} rows rejected`,
  ];
  if (s.objects.notAttempted > 0) parts.push(`${n(s.objects.notAttempted)} not attempted`);
  if (s.possibleDuplicates > 0) parts.push(`${n(s.possibleDuplicates)} chunk(s) may be duplicated`);
  const icon = ICON[s.status] ?? ':information_source:';
  const text = `${icon} braze-import run ${s.runId} (${fileName(s.source)}) ${s.status}: ${parts.join(', ')}; ${(s.durationMs / 1000).toFixed(1)} s`;
  return { ...s, text };
}

/** A webhook URL's path is its secret: logs name its origin only. */
const originOf = (url: string) => {
  try {
    return new URL(url).origin;
  } catch {
    return '(invalid URL)';
  }
};

/**
 * POSTs the notification. Never throws: a webhook that is down, slow (10 s) or refuses is logged as a
 * warning, and the run's outcome and exit code stay what they are. Returns whether it was delivered.
 */
export async function notifyRunEnd(
  url: string,
  summary: Summary,
  log: Logger,
  o: { timeoutMs?: number } = {},
): Promise<boolean> {
  const target = originOf(url);
  try {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': 'braze-import' },
      body: JSON.stringify(notificationFor(summary)),
      signal: AbortSignal.timeout(o.timeoutMs ?? 10_000),
      redirect: 'error',
    });
    await res.body?.cancel();
    if (res.ok) {
      log.info({ runId: summary.runId, target, status: res.status }, 'run notification sent');
      return true;
    }
    log.warn(
      { runId: summary.runId, target, status: res.status },
      'run notification refused by its receiver',
    );
  } catch (err) {
    const e = err as Error & { cause?: { code?: string } };
    log.warn(
      { runId: summary.runId, target, err: e.cause?.code ?? e.name },
      'run notification could not be sent',
    );
  }
  return false;
}

/** Statuses a notification is sent for: the run is over, one way or another (not while live). */
export function endsRun(status: string): boolean {
  return !isLive(status);
}
