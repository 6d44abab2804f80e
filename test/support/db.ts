import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
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
    await admin.raw(`CREATE DATABASE ${name} TEMPLATE ${await pgTemplate(admin)}`);
  } catch (error) {
    const where = new URL(PG_ADMIN_URL);
    where.password = where.password ? '***' : '';
    throw new Error(
      `PostgreSQL is needed for the tests at ${where.toString()} (under vitest, the global setup test/support/global-pg.ts starts one when nothing answers at TEST_PG_URL): ${(error as Error).message}`,
    );
  } finally {
    await admin.destroy();
  }
  const config: DatabaseConfig = { client: 'pg', connectionString: pgUrl(name) };
  const db = createDb(config);
  return {
    dialect,
    config,
    url: config.connectionString,
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

function pgUrl(database: string): string {
  const url = new URL(PG_ADMIN_URL);
  url.pathname = `/${database}`;
  return url.toString();
}

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Serialises building the template across the test workers (any number; pg_advisory_lock key). */
const TEMPLATE_LOCK = 0x646f6f72;
let template: Promise<string> | undefined;

/**
 * A migrated PostgreSQL database that test databases are copied from (`CREATE DATABASE … TEMPLATE`,
 * ~25 ms, where migrating a new one takes ~250 ms). Named by a hash of the migrations, so a changed
 * migration builds a new one (and drops the old); built once on the server, under a lock, by
 * whichever worker gets there first.
 */
function pgTemplate(admin: Db): Promise<string> {
  template ??= (async () => {
    const sources = [path.join(ROOT, 'src/db/migrations.ts'), ...readdirSync(path.join(ROOT, 'migrations')).sort().map((f) => path.join(ROOT, 'migrations', f))];
    const hash = createHash('sha256');
    for (const file of sources) hash.update(readFileSync(file));
    const name = `doorman_template_${hash.digest('hex').slice(0, 16)}`;
    await admin.raw('SELECT pg_advisory_lock(?)', [TEMPLATE_LOCK]);
    try {
      if (await admin('pg_database').where({ datname: name }).first()) return name;
      // Built under another name and renamed when complete, so no one copies a half-migrated one.
      const building = `${name}_building`;
      await admin.raw(`DROP DATABASE IF EXISTS ${building} WITH (FORCE)`);
      await admin.raw(`CREATE DATABASE ${building}`);
      const db = createDb({ client: 'pg', connectionString: pgUrl(building) });
      try {
        await migrate(db);
      } finally {
        await db.destroy();
      }
      await admin.raw(`ALTER DATABASE ${building} RENAME TO ${name}`);
      for (const stale of await admin('pg_database').where('datname', 'like', 'doorman\\_template\\_%').whereNot({ datname: name }).pluck('datname')) {
        await admin.raw(`DROP DATABASE IF EXISTS ${stale} WITH (FORCE)`);
      }
      return name;
    } finally {
      await admin.raw('SELECT pg_advisory_unlock(?)', [TEMPLATE_LOCK]);
    }
  })();
  // A failure (no server yet) is reported by the caller, and the next test tries again.
  template.catch(() => (template = undefined));
  return template;
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
