import { mkdirSync } from 'node:fs';
import path from 'node:path';
import knexFactory, { type Knex } from 'knex';
import pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import { migrationSource } from './migrations.js';

export type Db = Knex;
export type Trx = Knex.Transaction;

// bigint (int8) columns hold epoch milliseconds, well inside 2^53: read them as numbers.
pg.types.setTypeParser(pg.types.builtins.INT8, (value: string) => Number(value));

export function createDb(config: DatabaseConfig, options: { poolMax?: number } = {}): Db {
  if (config.client === 'pg') {
    return knexFactory({
      client: 'pg',
      connection: { connectionString: config.connectionString },
      pool: {
        min: 0,
        max: options.poolMax ?? 10,
        // A restarted PostgreSQL leaves dead sockets in the pool; never hand one out.
        afterCreate(conn: pg.Client, done: (err: Error | null, conn: pg.Client) => void) {
          conn.on('error', () => undefined);
          done(null, conn);
        },
      },
      acquireConnectionTimeout: 10_000,
    });
  }
  mkdirSync(path.dirname(config.filename), { recursive: true });
  return knexFactory({
    client: 'sqlite3',
    connection: { filename: config.filename },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      // WAL lets readers in other processes (the CLI) work beside the service; busy_timeout makes a
      // second writer wait instead of failing.
      afterCreate(conn: { run: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) {
        conn.run('PRAGMA journal_mode = WAL', (e1) => {
          if (e1) return done(e1, conn);
          conn.run('PRAGMA busy_timeout = 10000', (e2) => {
            if (e2) return done(e2, conn);
            conn.run('PRAGMA foreign_keys = ON', (e3) => done(e3, conn));
          });
        });
      },
    },
  });
}

export async function migrate(db: Db): Promise<string[]> {
  const [, applied] = (await db.migrate.latest({ migrationSource })) as [number, string[]];
  return applied;
}

export function isPostgres(db: Db): boolean {
  return db.client.config.client === 'pg';
}

/** A unique constraint lost a race (SQLite or PostgreSQL). */
export function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; errno?: number; message?: string };
  return e?.code === '23505' || (e?.code === 'SQLITE_CONSTRAINT' && /UNIQUE/.test(e.message ?? ''));
}

/** Errors after which running the same transaction again is correct. */
function isTransient(error: unknown): boolean {
  const e = error as { code?: string };
  return e?.code === 'SQLITE_BUSY' || e?.code === '40001' || e?.code === '40P01';
}

/**
 * Runs `work` in one transaction, again (a few times) when the database reports a transient
 * conflict: SQLite busy, PostgreSQL serialization failure or deadlock.
 */
export async function inTransaction<T>(db: Db, work: (trx: Trx) => Promise<T>, attempts = 5): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await db.transaction(work);
    } catch (error) {
      if (attempt >= attempts || !isTransient(error)) throw error;
      await new Promise((resolve) => setTimeout(resolve, 20 * attempt + Math.random() * 30));
    }
  }
}

/**
 * Makes transactions that take the same lock run one after another, for checks a row lock cannot
 * cover (rows that do not exist yet). PostgreSQL: a transaction-level advisory lock, released at
 * commit or rollback; SQLite already has one writer at a time.
 */
export async function serializeOn(trx: Trx, lock: number): Promise<void> {
  if (isPostgres(trx)) await trx.raw('SELECT pg_advisory_xact_lock(?)', [lock]);
}

/** Splits a list into chunks small enough for SQLite's bound-parameter limit. */
export function chunked<T>(items: readonly T[], size = 500): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/**
 * Row locks for read-then-write checks. PostgreSQL takes `FOR UPDATE`; SQLite has one writer at a
 * time already (and knex would only warn), so the query is left as it is there.
 */
export function forUpdate<Q extends Knex.QueryBuilder>(query: Q): Q {
  const client = (query as unknown as { client: { config: { client: string } } }).client;
  return client.config.client === 'pg' ? (query.forUpdate() as Q) : query;
}

/**
 * The tail of a claiming sub-select: PostgreSQL skips rows another instance is claiming right
 * now; SQLite has one writer at a time, so a plain select is already exclusive.
 */
export function skipLockedSql(db: Db | Trx): string {
  return isPostgres(db) ? ' FOR UPDATE SKIP LOCKED' : '';
}
