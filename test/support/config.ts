import { expect } from 'vitest';
import { ConfigError } from '../../src/shared/errors.js';

/** The ConfigError a configuration is refused with; fails the test when it is not refused. */
export function configRefusal(load: () => unknown, what: string): ConfigError {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    return error as ConfigError;
  }
  throw new Error(`no ConfigError for ${what}`);
}
