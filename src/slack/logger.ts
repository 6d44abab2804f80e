import { LogLevel, type Logger as BoltLogger } from '@slack/bolt';
import { redactSecrets, type Logger } from '../logger.js';

/**
 * Bolt and its Web API client log through Doorman's logger. Their lines are text (at debug, the
 * Web API client's whole requests), so secrets are taken out of the text itself.
 */
export function boltLogger(logger: Logger): BoltLogger {
  let level = LogLevel.INFO;
  const text = (parts: unknown[]) => redactSecrets(parts.map((p) => (typeof p === 'string' ? p : p instanceof Error ? p.message : JSON.stringify(p))).join(' '));
  return {
    debug: (...msg: unknown[]) => logger.debug(text(msg)),
    info: (...msg: unknown[]) => logger.info(text(msg)),
    warn: (...msg: unknown[]) => logger.warn(text(msg)),
    error: (...msg: unknown[]) => logger.error(text(msg)),
    setLevel: (next: LogLevel) => {
      level = next;
    },
    getLevel: () => level,
    setName: () => undefined,
  };
}
