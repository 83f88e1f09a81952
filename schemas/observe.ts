import { z } from 'zod';

/** `worker --metrics-port N [--metrics-host H]`: where the worker serves /metrics and /healthz. */
export const metricsFlagsSchema = z.object({
  metricsPort: z
    .string()
    .trim()
    .regex(/^\d+$/, { message: '--metrics-port expects a whole number (0 for any free port)' })
    .transform(Number)
    .pipe(z.number().int().max(65_535, { message: '--metrics-port must be at most 65535' }))
    .optional(),
  metricsHost: z
    .string()
    .trim()
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9:._-]+)$/, {
      message: '--metrics-host expects a host name or an IP address',
    })
    .transform((h) => h.replace(/^\[(.*)\]$/, '$1'))
    .default('127.0.0.1'),
});
export type MetricsFlags = z.output<typeof metricsFlagsSchema>;

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/;

/**
 * Where a run's end is announced (`--notify URL` or BRAZE_IMPORT_NOTIFY_URL): https, or plain http to
 * loopback (a local relay, a test listener). Credentials in the URL are refused: a webhook's secret
 * belongs in its path, which is never logged.
 */
export const notifyUrlSchema = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'not a URL' });
    return;
  }
  if (url.username || url.password) ctx.addIssue({ code: 'custom', message: 'must not contain credentials' });
  if (url.protocol === 'https:') return;
  if (url.protocol === 'http:' && LOOPBACK.test(url.hostname)) return;
  ctx.addIssue({ code: 'custom', message: 'must use https (plain http only to loopback)' });
});

const ENQUEUE_ONLY_NOTIFY =
  '--notify with --enqueue-only: the run ends in the workers, after this process; give them --notify (or BRAZE_IMPORT_NOTIFY_URL) and the one that finds it completed posts it';

/**
 * The notification target: the flag wins over the variable; empty means none. Problems name the
 * source, never the URL (a webhook URL is a secret). An enqueue-only run ends in the workers, after
 * its producer has exited: `--notify` on it would never be posted, so it is refused
 * (BRAZE_IMPORT_NOTIFY_URL set for every process is not: the workers read it too).
 */
export function notifyTarget(
  flag: unknown,
  env: Record<string, string | undefined>,
  enqueueOnly = false,
): { ok: true; url: string | undefined } | { ok: false; problem: string } {
  const [source, value] =
    typeof flag === 'string' && flag !== ''
      ? ['--notify', flag]
      : ['BRAZE_IMPORT_NOTIFY_URL', env['BRAZE_IMPORT_NOTIFY_URL']];
  if (value === undefined || value === '') return { ok: true, url: undefined };
  const parsed = notifyUrlSchema.safeParse(value);
  if (!parsed.success)
    return { ok: false, problem: `${source}: ${parsed.error.issues[0]?.message ?? 'invalid'}` };
  if (enqueueOnly && source === '--notify') return { ok: false, problem: ENQUEUE_ONLY_NOTIFY };
  return { ok: true, url: parsed.data };
}
