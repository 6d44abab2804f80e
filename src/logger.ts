import pino, { type Logger } from 'pino';

/** Structured JSON lines. Secrets are redacted wherever they might appear in a logged object. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'doorman' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        paths: ['password', '*.password', 'token', '*.token', 'apiToken', '*.apiToken', 'authorization', '*.authorization', 'headers.cookie', '*.headers.cookie', 'headers["x-medusa-access-token"]', '*.headers["x-medusa-access-token"]'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

export type { Logger };
