import { createServer, type RequestListener } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface RunningDashboard {
  /** `http://HOST:PORT` with the port actually bound (useful with port 0). */
  url: string;
  host: string;
  port: number;
  /** Stops accepting, ends idle keep-alive connections now and busy ones after `graceMs`. */
  close(graceMs?: number): Promise<void>;
}

export function dashboardUrl(host: string, port: number): string {
  return `http://${host.includes(':') ? `[${host}]` : host}:${port}`;
}

/** Listens on host:port; rejects with the listen error (EADDRINUSE, EACCES, ...) if it cannot. */
export function listenDashboard(app: RequestListener, host: string, port: number): Promise<RunningDashboard> {
  const server = createServer(app);
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host, port }, () => {
      server.off('error', reject);
      const bound = (server.address() as AddressInfo).port;
      let closing: Promise<void> | undefined;
      resolve({
        url: dashboardUrl(host, bound),
        host,
        port: bound,
        close(graceMs = 2000) {
          closing ??= new Promise<void>((done, fail) => {
            // Browsers keep the board's polling connection open: without this, close() waits for it.
            const timer = setTimeout(() => server.closeAllConnections(), graceMs);
            timer.unref();
            server.close((err) => {
              clearTimeout(timer);
              if (err) fail(err);
              else done();
            });
            server.closeIdleConnections();
          });
          return closing;
        },
      });
    });
  });
}
