import { pino, type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs on stderr (stdout belongs to command output such as `tokenwatch sql`).
 * The redact list is a second line of defence: secrets should never reach a log call at all.
 */
export function createLogger(level: string, name = 'tokenwatch'): Logger {
  return pino(
    {
      name,
      level,
      base: { service: name },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: [
          '*.password',
          '*.client_secret',
          '*.client_assertion',
          '*.authorization',
          '*.token',
          'password',
          'token',
          'authorization',
        ],
        censor: '[REDACTED]',
      },
    },
    pino.destination(2),
  );
}
