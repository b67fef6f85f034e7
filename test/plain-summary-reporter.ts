import type { Reporter, RunnerTask, RunnerTestFile } from 'vitest/node';

/**
 * Ends the run with the plain line `N passed, N failed, N skipped`, which tools that do not
 * know vitest's own summary (CI's log reader among them) understand. A test that never ran
 * because a hook of its file or suite failed counts as failed, not skipped, and so does an
 * unhandled error: the line must never say "0 failed" about a run that failed.
 */
export default class PlainSummaryReporter implements Reporter {
  onFinished(files: readonly RunnerTestFile[] = [], errors: readonly unknown[] = []): void {
    const counts = { passed: 0, failed: 0, skipped: 0 };
    const visit = (task: RunnerTask, enclosingFailed: boolean): void => {
      const failed = enclosingFailed || task.result?.state === 'fail';
      if ('tasks' in task) for (const child of task.tasks) visit(child, failed);
      if (task.type !== 'test') return;
      const state = task.result?.state;
      if (state === 'pass') counts.passed += 1;
      else if (state === 'fail' || enclosingFailed) counts.failed += 1;
      else counts.skipped += 1;
    };
    for (const file of files) visit(file, false);
    // A file that failed to load has no tests but must still count as a failure.
    counts.failed += files.filter((file) => file.result?.state === 'fail' && file.tasks.length === 0).length;
    counts.failed += errors.length;
    process.stdout.write(`\n${counts.passed} passed, ${counts.failed} failed, ${counts.skipped} skipped\n`);
  }
}
