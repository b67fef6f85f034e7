import { defineConfig } from 'vitest/config';

// Every test file runs in its own process: chDB binds one data directory per process, and
// integration tests each use a fresh directory and their own Kafka topics.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/plain-summary-reporter.ts'],
  },
});
