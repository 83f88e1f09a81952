import { afterAll, beforeAll } from 'vitest';
import { type Emulator, type EmulatorOptionsInput, startEmulator } from '../../src/emulator/index.js';
import { cliEnv } from './cli.js';
import { tempDir } from './files.js';
import { testRedisUrl, uniquePrefix } from './redis.js';

/**
 * One emulator and one temp folder for a test file, closed after it, and the environment a CLI
 * child needs to import into that emulator through this run's Redis under a prefix of its own.
 */
export function useEmulator(apiKey: string, options: EmulatorOptionsInput = {}) {
  let emu: Emulator | undefined;
  let dir: string | undefined;
  beforeAll(async () => {
    emu = await startEmulator({ port: 0, apiKey, ...options });
    dir = tempDir();
  });
  afterAll(() => emu?.close());
  const ready = <T>(v: T | undefined): T => {
    if (v === undefined) throw new Error('useEmulator: used before beforeAll ran');
    return v;
  };
  return {
    get emu() {
      return ready(emu);
    },
    get dir() {
      return ready(dir);
    },
    /** A fresh key prefix per call: each CLI scenario gets its own queues and runs. */
    env(extra: Record<string, string> = {}) {
      return cliEnv({
        REDIS_URL: testRedisUrl(),
        BRAZE_REST_ENDPOINT: ready(emu).url,
        BRAZE_API_KEY: apiKey,
        BRAZE_IMPORT_PREFIX: uniquePrefix('e2e'),
        ...extra,
      });
    },
  };
}
