import { describe, expect, it } from 'vitest';
import { DeadLetterGuard } from '@tokenwatch/ingest/dead-letter-guard';
import { DeadLetterLimitError } from '@tokenwatch/shared/errors';

function trips(check: () => void): DeadLetterLimitError {
  try {
    check();
  } catch (error) {
    expect(error).toBeInstanceOf(DeadLetterLimitError);
    return error as DeadLetterLimitError;
  }
  throw new Error('expected the guard to trip');
}

describe('DeadLetterGuard', () => {
  it('does not judge before it has seen a full window, however bad the input', () => {
    const guard = new DeadLetterGuard(0.5, 1_000, 'topic t');
    expect(() => guard.check(999, 999)).not.toThrow();
  });

  it('trips once the window is full and more than maxRatio were rejected', () => {
    const guard = new DeadLetterGuard(0.5, 1_000, 'topic idp.token-requests');
    guard.check(999, 999);
    const error = trips(() => guard.check(1, 1));
    expect(error.message).toContain('1000 of the last 1000 messages from topic idp.token-requests were invalid');
    expect(error.message).toContain('TOKENWATCH_DLQ_MAX_RATIO=0.5');
    expect(error.message).not.toContain('\n');
  });

  it('does not trip at exactly maxRatio', () => {
    const guard = new DeadLetterGuard(0.5, 1_000, 'topic t');
    expect(() => guard.check(1_000, 500)).not.toThrow();
  });

  it('trips just above maxRatio', () => {
    const guard = new DeadLetterGuard(0.5, 1_000, 'topic t');
    trips(() => guard.check(1_000, 501));
  });

  it('trips on a single batch larger than the window', () => {
    const guard = new DeadLetterGuard(0.1, 100, 'topic t');
    trips(() => guard.check(5_000, 600));
  });

  it('never trips on a mostly valid stream', () => {
    const guard = new DeadLetterGuard(0.5, 1_000, 'topic t');
    for (let i = 0; i < 200; i += 1) expect(() => guard.check(100, 10)).not.toThrow();
  });

  it('forgets old good batches: a later run of bad input trips it', () => {
    const guard = new DeadLetterGuard(0.5, 1_000, 'topic t');
    for (let i = 0; i < 50; i += 1) guard.check(1_000, 0);
    const error = trips(() => guard.check(1_000, 600));
    expect(error.message).toContain('600 of the last 1000 messages');
  });

  it('forgets old bad batches: good input afterwards is not held against it', () => {
    const guard = new DeadLetterGuard(0.5, 1_000, 'topic t');
    guard.check(500, 400); // bad but below the window
    guard.check(1_000, 0); // the bad batch falls out of the window
    expect(() => guard.check(1_000, 100)).not.toThrow();
  });

  it('judges the last window across several small batches', () => {
    const guard = new DeadLetterGuard(0.5, 1_000, 'topic t');
    for (let i = 0; i < 9; i += 1) guard.check(100, 60);
    trips(() => guard.check(100, 60));
  });

  it('ignores empty batches', () => {
    const guard = new DeadLetterGuard(0.5, 100, 'topic t');
    for (let i = 0; i < 10; i += 1) guard.check(0, 0);
    expect(() => guard.check(100, 50)).not.toThrow();
  });
});
