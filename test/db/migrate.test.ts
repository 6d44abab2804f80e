import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrate } from '../../src/db/index.js';
import { migrationSource } from '../../src/db/migrations.js';
import { createTestDatabase, DIALECTS, type TestDatabase } from '../support/db.js';

describe.each(DIALECTS)('migrate (%s)', (dialect) => {
  let t: TestDatabase;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t?.destroy();
  });

  it('leaves an up-to-date database alone: it starts even while the migration lock is held (a migration running elsewhere, or one that crashed)', async () => {
    await t.db('knex_migrations_lock').update({ is_locked: 1 });
    try {
      expect(await migrate(t.db)).toEqual([]);
    } finally {
      await t.db('knex_migrations_lock').update({ is_locked: 0 });
    }
  });

  it('brings a database that is behind up to date', async () => {
    const [last] = (await t.db('knex_migrations').orderBy('id', 'desc').limit(1).pluck('name')) as string[];
    await t.db.migrate.down({ migrationSource });
    expect(await migrate(t.db)).toEqual([last]);
    expect(await migrate(t.db)).toEqual([]);
  });
});
