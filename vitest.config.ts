import { configDefaults, defineConfig } from 'vitest/config';

// Every test file runs in its own process: chDB binds one data directory per process, and
// integration tests each use a fresh directory and their own Kafka topics.
//
// The one shared thing is the development Keycloak and its one log, which every Keycloak test
// ships whole. The Keycloak demo's test asserts that it sees only the alerts its own attacks ask
// for, so the other two tests that send requests to Keycloak (each of which looks only at its
// own requests) run after everything else, in a second project of a later group.
const KEYCLOAK_REQUESTS = ['test/integration/keycloak-live.test.ts', 'test/integration/keycloak-tap.test.ts'];

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/plain-summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, ...KEYCLOAK_REQUESTS] } },
      { extends: true, test: { name: 'keycloak-requests', include: KEYCLOAK_REQUESTS, sequence: { groupOrder: 1 } } },
    ],
  },
});
