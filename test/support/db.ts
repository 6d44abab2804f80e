import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import knexFactory from 'knex';
import type { DatabaseConfig } from '../../src/config.js';
import { createDb, migrate, type Db } from '../../src/db/index.js';

/**
 * PostgreSQL for tests: a server where the tests may create and drop databases. TEST_PG_URL, or
 * the local server. Under vitest, when nothing answers there, the global setup
 * (test/support/global-pg.ts) starts a throw-away PostgreSQL and sets TEST_PG_URL to it before
 * the workers start, so this is read per process, at import.
 */
export const PG_ADMIN_URL = process.env.TEST_PG_URL || 'postgres://postgres@127.0.0.1:5432/postgres';

export type Dialect = 'sqlite' | 'pg';
export const DIALECTS: Dialect[] = ['sqlite', 'pg'];

export interface TestDatabase {
  dialect: Dialect;
  config: DatabaseConfig;
  url: string;
  db: Db;
  /** Closes the connection and removes the database. */
  destroy(): Promise<void>;
}

/**
 * A fresh, migrated database: a real SQLite file in a temporary folder, or a new PostgreSQL
 * database on the local server. A missing PostgreSQL fails the test (it never skips).
 */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'doorman-test-'));
    const filename = path.join(dir, 'doorman.sqlite3');
    const config: DatabaseConfig = { client: 'sqlite', filename };
    const db = createDb(config);
    await migrate(db);
    return {
      dialect,
      config,
      url: `sqlite://${filename}`,
      db,
      async destroy() {
        await db.destroy();
        rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  const name = `doorman_test_${randomBytes(6).toString('hex')}`;
  const admin = knexFactory({ client: 'pg', connection: PG_ADMIN_URL, pool: { min: 0, max: 1 } });
  try {
    await admin.raw(`CREATE DATABASE ${name}`);
  } catch (error) {
    const where = new URL(PG_ADMIN_URL);
    where.password = where.password ? '***' : '';
    throw new Error(
      `PostgreSQL is needed for the tests at ${where.toString()} (under vitest, the global setup test/support/global-pg.ts starts one when nothing answers at TEST_PG_URL): ${(error as Error).message}`,
    );
  } finally {
    await admin.destroy();
  }
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${name}`;
  const config: DatabaseConfig = { client: 'pg', connectionString: url.toString() };
  const db = createDb(config);
  await migrate(db);
  return {
    dialect,
    config,
    url: url.toString(),
    db,
    async destroy() {
      await db.destroy();
      const cleanup = knexFactory({ client: 'pg', connection: PG_ADMIN_URL, pool: { min: 0, max: 1 } });
      try {
        await cleanup.raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await cleanup.destroy();
      }
    },
  };
}

/** A clock the test moves by hand. */
export class ManualClock {
  constructor(public current = Date.UTC(2026, 10, 22, 9, 0, 0)) {}
  now(): number {
    return this.current;
  }
  advance(ms: number): void {
    this.current += ms;
  }
}

export const TEST_SECRET = 'test-secret-0123456789-abcdefghijklmnopqrstuvwxyz';
