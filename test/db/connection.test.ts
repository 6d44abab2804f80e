import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/db.js';

describe.each(DIALECTS)('createDb (%s)', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('a failed statement\'s error names its SQL, never the values bound to it (they are logged)', async () => {
    const row = { id: 'usr_DUPLICATE', email: 'secret.person@corp.test', role: 'admin', state: 'active', password_hash: 'c2NyeXB0-not-for-logs', created_at: Date.now(), updated_at: Date.now() };
    await t.db('members').insert(row);
    const error = (await t.db('members').insert(row).catch((e: unknown) => e)) as Error;
    expect(error).toBeInstanceOf(Error);
    expect(error.message).toMatch(/insert into .members./);
    expect(error.message).toMatch(/UNIQUE|duplicate key/i);
    for (const value of ['secret.person@corp.test', 'c2NyeXB0-not-for-logs', 'usr_DUPLICATE']) expect(error.message).not.toContain(value);
  });
});
