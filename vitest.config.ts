import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    // One private redis-server for the whole run (unless REDIS_URL is set); each test file uses its own key prefix.
    globalSetup: ['test/helpers/global-setup.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // 2-core machines: real processes (Redis, emulator, CLI) compete for CPU.
    maxWorkers: 2,
    reporters: ['default'],
  },
});
