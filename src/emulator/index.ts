/** A local Braze-compatible server for tests, demos and benchmarks: see shared/braze-api.md §7. */
import type { AddressInfo } from 'node:net';
import { type FaultPatch, faultPatchSchema } from '../../schemas/emulator.js';
import type { FaultConfig } from './faults.js';
import { type EmulatorOptions, type EmulatorOptionsInput, resolveOptions } from './options.js';
import { createEmulatorServer } from './server.js';
import {
  createState,
  type EmulatorStatsView,
  resetState,
  statsOf,
  type UserView,
  viewProfile,
} from './state.js';

export type { FaultConfig } from './faults.js';
export type { BucketName, EmulatorOptions, EmulatorOptionsInput, RateLimitSpec } from './options.js';
export { BUCKETS, DEFAULT_API_KEY, DEFAULT_PORT, DEFAULT_RATE_LIMITS } from './options.js';
export type { EmulatorStatsView, UserView } from './state.js';

export interface Emulator {
  /** e.g. http://127.0.0.1:4010 (no trailing slash). */
  readonly url: string;
  readonly host: string;
  readonly port: number;
  readonly apiKey: string;
  readonly options: Readonly<EmulatorOptions>;
  stats(): EmulatorStatsView;
  /** Clears profiles, stats and rate windows, and restarts the fault dice. */
  reset(): void;
  faults(): FaultConfig;
  /** Same as POST /_emulator/faults; a `seed` restarts the dice. Throws RangeError on invalid settings. */
  setFaults(patch: FaultPatch): FaultConfig;
  getUser(externalId: string): UserView | undefined;
  /** Stops listening and destroys every connection, idle keep-alive ones included. Idempotent. */
  close(): Promise<void>;
}

function checkFaults(patch: unknown): FaultPatch {
  const parsed = faultPatchSchema.safeParse(patch);
  if (parsed.success) return parsed.data;
  throw new RangeError(
    `invalid emulator faults: ${parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`).join('; ')}`,
  );
}

export async function startEmulator(input: EmulatorOptionsInput = {}): Promise<Emulator> {
  checkFaults(input.faults ?? {});
  const opts = resolveOptions(input);
  const state = createState(opts);
  const server = createEmulatorServer(state);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, opts.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const hostForUrl = opts.host.includes(':') ? `[${opts.host}]` : opts.host;
  let closing: Promise<void> | undefined;
  return {
    url: `http://${hostForUrl}:${port}`,
    host: opts.host,
    port,
    apiKey: opts.apiKey,
    options: opts,
    stats: () => statsOf(state),
    reset: () => resetState(state),
    faults: () => state.faults.config,
    setFaults: (patch) => {
      const { seed, ...rest } = checkFaults(patch);
      return state.faults.update(rest, seed);
    },
    getUser: (externalId) => {
      const p = state.store?.findByExternalId(externalId);
      return p ? viewProfile(p) : undefined;
    },
    close: () => {
      closing ??= new Promise<void>((resolve) => {
        for (const timer of state.timers) clearTimeout(timer);
        state.timers.clear();
        server.close(() => resolve());
        server.closeAllConnections();
      });
      return closing;
    },
  };
}
