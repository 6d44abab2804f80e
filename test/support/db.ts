import { createHash, randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import knexFactory from 'knex';
import { afterAll, beforeAll } from 'vitest';
import type { DatabaseConfig } from '../../src/config.js';
import { createDb, type Db } from '../../src/db/index.js';
import { migrate } from '../../src/db/migrations.js';
import { testDatabases } from './settle.js';

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

/** A migrated test database for the enclosing describe block: made before its first test, dropped after its last. */
export function useTestDatabase(dialect: Dialect): () => TestDatabase {
  let t: TestDatabase | undefined;
  beforeAll(async () => {
    t = await createTestDatabase(dialect);
  });
  afterAll(async () => {
    await t?.destroy();
  });
  return () => t!;
}

/**
 * A fresh, migrated database: a real SQLite file in a temporary folder, or a new PostgreSQL
 * database on the local server. A missing PostgreSQL fails the test (it never skips).
 */
export async function createTestDatabase(dialect: Dialect): Promise<TestDatabase> {
  if (dialect === 'sqlite') {
    const dir = mkdtempSync(path.join(tmpdir(), 'doorman-test-'));
    const filename = path.join(dir, 'doorman.sqlite3');
    copyFileSync(await sqliteTemplate(), filename);
    const config: DatabaseConfig = { client: 'sqlite', filename };
    const db = createDb(config);
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
  // Made ahead while the previous test ran (see below), or now.
  const made = spare;
  spare = undefined;
  const name = (made && (await made.catch(() => undefined))) || (await newPgDatabase());
  if (inBackground()) {
    spare = newPgDatabase();
    spare.catch(() => undefined);
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
      if (inBackground()) dropLater(name);
      else await dropDatabase(name);
    },
  };
}

/**
 * Making and dropping a PostgreSQL database take a noticeable while on a busy machine, and a
 * test needs neither to wait: the next test's database is made while this one runs, and a test's
 * database is dropped in the background. Each test file waits at its end (test/support/setup.ts)
 * for its drops and drops the database made ahead, so none outlives its file. Elsewhere (the
 * benchmarks, which use these databases too, spawned by a test or not) nothing runs in the background.
 */
const inBackground = () => testDatabases.hooked === true;
testDatabases.settle = settleTestDatabases;
let spare: Promise<string> | undefined;
const dropping = new Set<Promise<void>>();
let adminDb: Db | undefined;

/** One connection pool per test process for making and dropping databases. */
const admin = (): Db => (adminDb ??= knexFactory({ client: 'pg', connection: PG_ADMIN_URL, pool: { min: 0, max: 2, idleTimeoutMillis: 2_000 } }));

async function newPgDatabase(): Promise<string> {
  const name = `doorman_test_${randomBytes(6).toString('hex')}`;
  try {
    await admin().raw(`CREATE DATABASE ${name} TEMPLATE ${await pgTemplate(admin())}`);
  } catch (error) {
    const where = new URL(PG_ADMIN_URL);
    where.password = where.password ? '***' : '';
    throw new Error(
      `PostgreSQL is needed for the tests at ${where.toString()} (under vitest, the global setup test/support/global-pg.ts starts one when nothing answers at TEST_PG_URL): ${(error as Error).message}`,
    );
  }
  return name;
}

const dropDatabase = async (name: string): Promise<void> => {
  await admin().raw(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
};

/** Drops a database without waiting; one that fails (the server restarting) is left behind, like the database of a test that fails before its destroy. */
function dropLater(name: string): void {
  const drop = dropDatabase(name).catch(() => undefined);
  dropping.add(drop);
  void drop.finally(() => dropping.delete(drop));
}

/** Drops the database made ahead and waits for every drop under way (at the end of each test file). */
async function settleTestDatabases(): Promise<void> {
  const made = spare;
  spare = undefined;
  const name = made && (await made.catch(() => undefined));
  if (name) dropLater(name);
  await Promise.all(dropping);
  await adminDb?.destroy();
  adminDb = undefined;
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
 * a tenth of the time of migrating a new one). Named by a hash of the migrations, so a changed
 * migration builds a new one (and drops the old); built once on the server, under a lock, by
 * whichever worker gets there first.
 */
function pgTemplate(admin: Db): Promise<string> {
  template ??= (async () => {
    const name = `doorman_template_${migrationsHash()}`;
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

let sqliteFile: Promise<string> | undefined;

/**
 * A migrated SQLite file that test databases are copied from (a copy is far quicker than migrating
 * a new file). Named, as the PostgreSQL template is, by a hash of the migrations; built by whichever
 * process needs it first and moved into place complete, so no one copies a half-migrated one.
 */
function sqliteTemplate(): Promise<string> {
  sqliteFile ??= (async () => {
    const filename = path.join(tmpdir(), `doorman_template_${migrationsHash()}.sqlite3`);
    if (existsSync(filename)) return filename;
    const dir = mkdtempSync(path.join(tmpdir(), 'doorman-template-'));
    try {
      const building = path.join(dir, 'template.sqlite3');
      const db = createDb({ client: 'sqlite', filename: building });
      try {
        await migrate(db);
      } finally {
        // Closed before it is copied: the file then holds everything, with no -wal file beside it.
        await db.destroy();
      }
      renameSync(building, filename);
      for (const stale of readdirSync(tmpdir()).filter((f) => /^doorman_template_[0-9a-f]{16}\.sqlite3$/.test(f) && f !== path.basename(filename))) rmSync(path.join(tmpdir(), stale), { force: true });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
    return filename;
  })();
  sqliteFile.catch(() => (sqliteFile = undefined));
  return sqliteFile;
}

/** A hash of the migrations, naming the templates they build. */
function migrationsHash(): string {
  const sources = [path.join(ROOT, 'src/db/migrations.ts'), ...readdirSync(path.join(ROOT, 'migrations')).sort().map((f) => path.join(ROOT, 'migrations', f))];
  const hash = createHash('sha256');
  for (const file of sources) hash.update(readFileSync(file));
  return hash.digest('hex').slice(0, 16);
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

/** A SQL statement as knex's `query` event reports it. */
export interface Statement {
  sql: string;
  bindings: readonly unknown[];
}

/** Every SQL statement `db` sends (BEGIN and COMMIT included) until `stop()`. */
export function watchStatements(db: Db) {
  const queries: Statement[] = [];
  const listener = (query: { sql: string; bindings?: readonly unknown[] }) => void queries.push({ sql: query.sql, bindings: query.bindings ?? [] });
  db.on('query', listener);
  return { queries, sql: () => queries.map((query) => query.sql), stop: () => void db.off('query', listener) };
}
