import type { Queue } from 'bullmq';
import type { Redis } from 'ioredis';
import { afterAll } from 'vitest';
import type { DashboardAuth } from '../../schemas/dashboard.js';
import type { TrackQueueData } from '../../schemas/track.js';
import { createDashboardApp } from '../../src/dashboard/app.js';
import { createDashboardMetrics } from '../../src/dashboard/metrics.js';
import { listenDashboard, type RunningDashboard } from '../../src/dashboard/server.js';
import type { Logger } from '../../src/infra/logger.js';
import type { RunStore } from '../../src/runs/store.js';

export interface TestDashboardOptions {
  redis: Redis;
  prefix: string;
  runs: RunStore;
  /** The queues bull-board shows; default: none. */
  queues?: Array<Queue<TrackQueueData>>;
  auth?: DashboardAuth;
  allowActions?: boolean;
  ping?: () => Promise<unknown>;
  log?: Logger;
  now?: () => number;
}

export interface Answer {
  status: number;
  text: string;
  headers: Headers;
}

/** Dashboards of a test file, on loopback with a free port, closed after its tests. */
export function useDashboards() {
  const servers: RunningDashboard[] = [];
  afterAll(async () => {
    for (const s of servers) await s.close();
  });
  return async function start(o: TestDashboardOptions): Promise<RunningDashboard> {
    const control = { redis: o.redis, prefix: o.prefix, runs: o.runs };
    const app = createDashboardApp({
      queues: { current: async () => o.queues ?? [], close: async () => {} },
      control,
      auth: o.auth,
      allowActions: o.allowActions ?? false,
      host: '127.0.0.1',
      metrics: createDashboardMetrics(control, { max: 3000, windowMs: 3000 }),
      ping: o.ping ?? (() => o.redis.ping()),
      healthTimeoutMs: 500,
      log: o.log,
      now: o.now,
    });
    const server = await listenDashboard(app, '127.0.0.1', 0);
    servers.push(server);
    return server;
  };
}

export async function request(
  server: RunningDashboard,
  path: string,
  init: RequestInit = {},
): Promise<Answer> {
  const res = await fetch(`${server.url}${path}`, { redirect: 'manual', ...init });
  return { status: res.status, text: await res.text(), headers: res.headers };
}

export const basic = (a: DashboardAuth) =>
  `Basic ${Buffer.from(`${a.user}:${a.password}`).toString('base64')}`;
