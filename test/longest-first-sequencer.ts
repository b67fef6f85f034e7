import { relative } from 'node:path';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * How long the slowest files took in CI (ms, the whole file on the loaded 2-core runner). A clean
 * clone has no results cache, and vitest then orders files by size: the 205-second end-to-end file
 * started about 40th of 115 and the 80-second Keycloak demo near the end, so the run ended with
 * one worker busy and the other idle. Started first, the long files overlap the many short ones.
 * A file not listed counts as short; list a new file here once CI shows it takes over ~10 s.
 */
const CI_DURATION_MS: Readonly<Record<string, number>> = {
  'test/integration/end-to-end.test.ts': 205_000,
  'test/integration/produce-follow.test.ts': 125_000,
  'test/integration/detection-quality.test.ts': 86_000,
  'test/integration/demo-keycloak.test.ts': 80_000,
  'test/integration/demo.test.ts': 44_000,
  'test/integration/fault-broker-kill.test.ts': 40_000,
  'test/integration/detect-stale-credential.test.ts': 33_000,
  'test/integration/ingest-crash.test.ts': 24_000,
  'test/integration/fault-disk-full.test.ts': 19_000,
  'test/integration/detect-latency.test.ts': 15_000,
  'test/integration/detect-secret-location-monthly.test.ts': 14_000,
};

/**
 * Longest first (the classic answer to packing jobs on a few workers): a file's duration from
 * this machine's results cache when it has one, else from the CI table above. Ties keep
 * vitest's own order (failed first, then larger files first).
 */
export default class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const expectedMs = (file: TestSpecification): number => {
      const path = relative(this.ctx.config.root, file.moduleId);
      return this.ctx.cache.getFileTestResults(`${file.project.name}:${path}`)?.duration ?? CI_DURATION_MS[path] ?? 0;
    };
    const vitestOrder = await super.sort(files);
    const expected = new Map(vitestOrder.map((file) => [file, expectedMs(file)]));
    return vitestOrder.sort((a, b) => (expected.get(b) ?? 0) - (expected.get(a) ?? 0));
  }
}
