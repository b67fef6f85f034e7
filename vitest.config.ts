import { configDefaults, defineConfig } from 'vitest/config';

// Every test file runs in its own process: chDB binds one data directory per process, and
// integration tests each use a fresh directory and their own Kafka topics.
//
// The one shared thing is the development Keycloak and its one log. The Keycloak demo's test
// asserts that it sees only the alerts its own attacks ask for, but every line Keycloak logs is
// shipped, so it runs last and alone (a second project, later group), after every other test
// that sends requests to Keycloak has finished.
const KEYCLOAK_DEMO = 'test/integration/demo-keycloak.test.ts';

export default defineConfig({
  test: {
    pool: 'forks',
    maxWorkers: 2,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default', './test/plain-summary-reporter.ts'],
    projects: [
      { extends: true, test: { name: 'suite', include: ['test/**/*.test.ts'], exclude: [...configDefaults.exclude, KEYCLOAK_DEMO] } },
      { extends: true, test: { name: 'keycloak-demo', include: [KEYCLOAK_DEMO], sequence: { groupOrder: 1 } } },
    ],
  },
});
