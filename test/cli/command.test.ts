import { describe, expect, it } from 'vitest';
import { failureWords } from '../../src/cli/command.js';

describe('failureWords', () => {
  it('says a busy SQLite file is another process holding it, not the statement that met it', () => {
    const busy = Object.assign(new Error('BEGIN IMMEDIATE; - SQLITE_BUSY: database is locked'), { code: 'SQLITE_BUSY' });
    const words = failureWords(busy);
    expect(words).toMatch(/DATABASE_URL\) stayed locked by another process, so this step was not done; try again/);
    expect(words).not.toMatch(/BEGIN|SQLITE_/);
    expect(failureWords(new Error('No invitation with id x.'))).toBe('No invitation with id x.');
  });
});
