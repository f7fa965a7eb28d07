import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    // Integration files isolate themselves (own schema, own queue prefix), so files may run in parallel.
    fileParallelism: true,
    maxWorkers: 2,
  },
});
