import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { createDb } from '../../src/db/index.js';
import { createLogger } from '../../src/logger.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/db.js';

describe.each(DIALECTS)('createDb (%s)', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('a failed statement\'s error, as logged, names its SQL, never the values bound to it', async () => {
    const row = { id: 'usr_DUPLICATE', email: 'secret.person@corp.test', role: 'admin', state: 'active', password_hash: 'c2NyeXB0-not-for-logs', created_at: Date.now(), updated_at: Date.now() };
    await t.db('members').insert(row);
    const error = (await t.db('members').insert(row).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/insert into .members./);
    expect(error.message).toMatch(/UNIQUE|duplicate key/i);
    // What is logged of it: the message and the driver's fields (PostgreSQL's detail names the key).
    const lines: string[] = [];
    createLogger('error', { write: (line: string) => void lines.push(line) }).error({ err: error }, 'a statement failed');
    expect(lines).toHaveLength(1);
    expect(lines[0]).toContain('insert into');
    for (const value of ['secret.person@corp.test', 'c2NyeXB0-not-for-logs', 'usr_DUPLICATE']) {
      expect(error.message).not.toContain(value);
      expect(lines[0]).not.toContain(value);
    }
  });
});

describe('createDb and knex\'s own messages', () => {
  it('go to the service\'s log as JSON lines; a connection it could not make, the caller\'s error too, only at debug', async () => {
    const lines: Array<{ level: number; source?: string; msg: string }> = [];
    const logger = createLogger('debug', { write: (line: string) => void lines.push(JSON.parse(line)) });
    // knex's default is console.log, bare text among the JSON lines.
    const consoleLog = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const db = createDb({ client: 'pg', connectionString: 'postgres://postgres@127.0.0.1:1/doorman' }, { logger });
    try {
      await expect(db.raw('select 1')).rejects.toThrow(/ECONNREFUSED/);
      expect(consoleLog).not.toHaveBeenCalled();
      const fromKnex = lines.filter((line) => line.source === 'knex');
      expect(fromKnex.length).toBeGreaterThan(0);
      for (const line of fromKnex) {
        expect(line.level).toBe(20);
        expect(line.msg).toMatch(/^Acquire connection error: .*ECONNREFUSED/);
      }
    } finally {
      consoleLog.mockRestore();
      await db.destroy();
    }
  });
});
