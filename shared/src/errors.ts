/**
 * Errors that end a process with one readable line instead of a stack trace: bad settings,
 * an unreachable dependency, a broken input stream. Anything else is a bug and keeps its stack.
 */
export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

export class DependencyError extends Error {
  override readonly name = 'DependencyError';
}

/** Raised when more of a stream goes to the dead-letter topic than the configured ratio allows. */
export class DeadLetterLimitError extends Error {
  override readonly name = 'DeadLetterLimitError';
}

/** A user's ad-hoc query was rejected by ClickHouse (syntax, unknown column, read-only). */
export class QueryError extends Error {
  override readonly name = 'QueryError';
}

export type OperatorError = ConfigError | DependencyError | DeadLetterLimitError | QueryError;

export function isOperatorError(error: unknown): error is OperatorError {
  return (
    error instanceof ConfigError ||
    error instanceof DependencyError ||
    error instanceof DeadLetterLimitError ||
    error instanceof QueryError
  );
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
