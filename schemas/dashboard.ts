import { z } from 'zod';

export const DEFAULT_DASHBOARD_HOST = '127.0.0.1';
export const DEFAULT_DASHBOARD_PORT = 3000;

/** Flags of `dashboard`, validated all at once. */
export const dashboardFlagsSchema = z.object({
  host: z
    .string()
    .trim()
    .min(1, { message: '--host must not be empty' })
    .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9:._-]+)$/, {
      message: '--host expects a host name or an IP address',
    })
    // `[::1]` as written in URLs; listen() wants the bare address.
    .transform((h) => h.replace(/^\[(.*)\]$/, '$1'))
    .default(DEFAULT_DASHBOARD_HOST),
  port: z
    .string()
    .trim()
    .regex(/^\d+$/, { message: '--port expects a whole number (0 for any free port)' })
    .transform(Number)
    .pipe(z.number().int().max(65_535, { message: '--port must be at most 65535' }))
    .default(DEFAULT_DASHBOARD_PORT),
  allowActions: z.boolean().default(false),
  /** Names the dashboard is reached by through a proxy (its Host header), besides localhost and the bound address. */
  publicHost: z
    .array(
      z
        .string()
        .trim()
        .regex(/^(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9._-]+)(:\d+)?$/, {
          message: '--public-host expects a host name',
        }),
    )
    .default([]),
});
export type DashboardFlags = z.output<typeof dashboardFlagsSchema>;

/** Shorter passwords are refused: the dashboard may face a network, and Basic auth has no second factor. */
export const MIN_PASSWORD_LENGTH = 12;

/** Basic-auth credentials for the dashboard: both or neither. */
export const dashboardEnvSchema = z
  .object({
    DASHBOARD_USER: z
      .string()
      .refine((u) => !u.includes(':'), { message: 'must not contain ":" (HTTP Basic auth forbids it)' })
      .optional(),
    DASHBOARD_PASSWORD: z
      .string()
      .min(MIN_PASSWORD_LENGTH, {
        message: `must be at least ${MIN_PASSWORD_LENGTH} characters (a login guessed in a few tries is no login)`,
      })
      .optional(),
  })
  .superRefine((env, ctx) => {
    const user = env.DASHBOARD_USER !== undefined;
    const password = env.DASHBOARD_PASSWORD !== undefined;
    if (user && !password) {
      ctx.addIssue({
        code: 'custom',
        path: ['DASHBOARD_PASSWORD'],
        message: 'not set: set both DASHBOARD_USER and DASHBOARD_PASSWORD, or neither',
      });
    }
    if (password && !user) {
      ctx.addIssue({
        code: 'custom',
        path: ['DASHBOARD_USER'],
        message: 'not set: set both DASHBOARD_USER and DASHBOARD_PASSWORD, or neither',
      });
    }
  });

export interface DashboardAuth {
  user: string;
  password: string;
}

export type DashboardEnvResult =
  | { ok: true; auth: DashboardAuth | undefined }
  | { ok: false; problems: string[] };

/**
 * Reads the dashboard's credentials from an environment object (the command passes process.env).
 * Empty values count as unset. Problems name the variable, never its value.
 */
export function parseDashboardEnv(env: Record<string, string | undefined>): DashboardEnvResult {
  const pick = (name: string) => (env[name] === '' ? undefined : env[name]);
  const parsed = dashboardEnvSchema.safeParse({
    DASHBOARD_USER: pick('DASHBOARD_USER'),
    DASHBOARD_PASSWORD: pick('DASHBOARD_PASSWORD'),
  });
  if (!parsed.success) {
    return {
      ok: false,
      problems: parsed.error.issues.map((i) => `${String(i.path[0] ?? 'DASHBOARD_USER')}: ${i.message}`),
    };
  }
  const { DASHBOARD_USER: user, DASHBOARD_PASSWORD: password } = parsed.data;
  return { ok: true, auth: user !== undefined && password !== undefined ? { user, password } : undefined };
}

export const MAX_RUNS_LISTED = 100;

/** Query of GET /api/runs. */
export const runsQuerySchema = z.object({
  limit: z
    .string()
    .regex(/^\d+$/, { message: 'limit expects a whole number' })
    .transform(Number)
    .pipe(z.number().int().min(1).max(MAX_RUNS_LISTED))
    .default(20),
});
