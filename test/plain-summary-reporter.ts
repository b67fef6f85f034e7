import type { Reporter, RunnerTask, RunnerTestFile } from 'vitest/node';

/**
 * Ends the run with the plain line `N passed, N failed, N skipped`, which tools that do not
 * know vitest's own summary (CI's log reader among them) understand.
 */
export default class PlainSummaryReporter implements Reporter {
  onFinished(files: readonly RunnerTestFile[] = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const visit = (task: RunnerTask): void => {
      if ('tasks' in task) task.tasks.forEach(visit);
      if (task.type !== 'test') return;
      const state = task.result?.state;
      if (state === 'pass') counts.passed += 1;
      else if (state === 'fail') counts.failed += 1;
      else counts.skipped += 1;
    };
    files.forEach(visit);
    // A file that failed to load has no tests but must still count as a failure.
    counts.failed += files.filter((file) => file.result?.state === 'fail' && file.tasks.length === 0).length;
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
