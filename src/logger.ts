import pino, { type Logger } from 'pino';

/** Secrets as they may appear inside logged text (a library's debug line, an error message). */
const SECRET_PATTERNS: Array<[RegExp, string]> = [
  [/\b(token=)[A-Za-z0-9_-]{16,}/g, '$1[redacted]'],
  [/\bxox[a-z]-[A-Za-z0-9-]+/g, 'xox?-[redacted]'],
  [/\bxapp-[A-Za-z0-9-]+/g, 'xapp-[redacted]'],
  [/\bdm_[A-Za-z0-9_-]{16,}/g, 'dm_[redacted]'],
  [/\b(Bearer\s+)[A-Za-z0-9._~+/=-]+/gi, '$1[redacted]'],
  [/\beyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+/g, '[redacted jwt]'],
  [/("(?:password|token|api_token|access_token|client_secret)"\s*:\s*)"(?:[^"\\]|\\.)*"/gi, '$1"[redacted]"'],
];

/** Text with every secret Doorman knows the shape of replaced (links' tokens, Slack and API tokens, passwords). */
export function redactSecrets(text: string): string {
  let out = text;
  for (const [pattern, replacement] of SECRET_PATTERNS) out = out.replace(pattern, replacement);
  return out;
}

/** Structured JSON lines. Secrets are redacted wherever they might appear in a logged object. */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'doorman' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: {
        // err.detail: PostgreSQL's own account of a failed statement names the values ("Key (email)=(…)",
        // "Failing row contains (…)"), password hashes among them; the constraint's name stays.
        paths: ['password', '*.password', 'token', '*.token', 'apiToken', '*.apiToken', 'authorization', '*.authorization', 'headers.cookie', '*.headers.cookie', 'headers["x-medusa-access-token"]', '*.headers["x-medusa-access-token"]', 'err.detail', 'error.detail'],
        censor: '[redacted]',
      },
    },
    destination,
  );
}

export type { Logger };
