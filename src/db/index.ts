import { closeSync, mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import knexFactory, { type Knex } from 'knex';
import type pg from 'pg';
import type { DatabaseConfig } from '../config.js';
import type { Logger } from '../logger.js';
import { ConfigError } from '../shared/errors.js';

export type Db = Knex;
export type Trx = Knex.Transaction;

/**
 * Both dialects set `compileSqlOnError: false`: a failed statement's error (logged) then shows its
 * SQL with placeholders, not the values bound to it — password hashes, token hashes, addresses.
 */
export function createDb(config: DatabaseConfig, options: { poolMax?: number; logger?: Logger } = {}): Db {
  const log = options.logger && knexLog(options.logger);
  if (config.client === 'pg') {
    // Loaded only for PostgreSQL, as knex loads its driver: an SQLite deployment never loads it.
    const { types } = createRequire(import.meta.url)('pg') as typeof pg;
    // bigint (int8) columns hold epoch milliseconds, well inside 2^53: read them as numbers.
    types.setTypeParser(types.builtins.INT8, (value: string) => Number(value));
    return knexFactory({
      client: 'pg',
      compileSqlOnError: false,
      log,
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
  // The file holds members' password hashes: created readable by this user only (SQLite gives its
  // -wal and -shm files the database file's permissions).
  try {
    mkdirSync(path.dirname(config.filename), { recursive: true, mode: 0o700 });
    closeSync(openSync(config.filename, 'a', 0o600));
  } catch (error) {
    const { code, message } = error as Error & { code?: string };
    throw new ConfigError(config.setting ?? 'DATABASE_URL', `cannot create or open the database file ${config.filename} (${code ?? message})`);
  }
  return beginImmediate(knexFactory({
    client: 'sqlite3',
    compileSqlOnError: false,
    log,
    connection: { filename: config.filename },
    useNullAsDefault: true,
    pool: {
      min: 1,
      max: 1,
      // WAL lets readers in other processes (the CLI) work beside the service; busy_timeout makes a
      // second writer wait instead of failing. synchronous = NORMAL: in WAL mode a commit no longer
      // waits for fsync (the WAL is synced at checkpoints), so each small write — every Slack
      // request claims its dedupe key — costs no disk flush. A crash of the
      // process loses nothing; a power cut may lose the last commits, never corrupts the file.
      afterCreate(conn: { run: (sql: string, cb: (err: Error | null) => void) => void }, done: (err: Error | null, conn: unknown) => void) {
        const pragmas = ['PRAGMA journal_mode = WAL', 'PRAGMA synchronous = NORMAL', 'PRAGMA busy_timeout = 10000', 'PRAGMA foreign_keys = ON'];
        const next = (i: number): void => {
          if (i === pragmas.length) return done(null, conn);
          conn.run(pragmas[i]!, (error) => (error ? done(error, conn) : next(i + 1)));
        };
        next(0);
      },
    },
  }));
}

/**
 * knex's own messages as the service's log lines (JSON, where they were bare text on stderr). A
 * connection knex could not make is also the error its caller gets and reports, so knex's copy of
 * it, a stack over several lines, is only for debugging.
 */
function knexLog(logger: Logger): Knex.Config['log'] {
  const text = (message: unknown) => (typeof message === 'string' ? message : String(message));
  return {
    warn: (message: unknown) => {
      const line = text(message);
      if (line.startsWith('Acquire connection error')) logger.debug({ source: 'knex' }, line);
      else logger.warn({ source: 'knex' }, line);
    },
    error: (message: unknown) => logger.error({ source: 'knex' }, text(message)),
    deprecate: (message: unknown) => logger.warn({ source: 'knex' }, text(message)),
    debug: (message: unknown) => logger.debug({ source: 'knex' }, text(message)),
  };
}

/**
 * SQLite transactions start as readers and become writers at their first write; when another
 * process wrote in between, that upgrade fails with SQLITE_BUSY at once — busy_timeout does not
 * wait for it. `BEGIN IMMEDIATE` takes the write lock up front, where busy_timeout does wait, so
 * two processes writing one file take turns instead of failing requests.
 */
function beginImmediate(db: Db): Db {
  type SqliteTransaction = { begin(conn: unknown): Promise<unknown>; query(conn: unknown, sql: string): Promise<unknown> };
  const client = db.client as { transaction: (...args: unknown[]) => SqliteTransaction };
  const create = client.transaction.bind(client);
  client.transaction = (...args: unknown[]) => {
    const trx = create(...args);
    // Called once the connection is acquired (after construction); savepoints are untouched.
    trx.begin = (conn: unknown) => trx.query(conn, 'BEGIN IMMEDIATE;');
    return trx;
  };
  return db;
}

export function isPostgres(db: Db): boolean {
  return db.client.config.client === 'pg';
}

/**
 * Errors of reaching or opening the database: the network's and TLS's, PostgreSQL's (a connection
 * refused: class 08; wrong password or none, no such database, no CONNECT privilege, starting up,
 * too many clients) and SQLite's (a file it cannot open or read).
 */
export function cannotUseDatabase(error: Error & { code?: string }): boolean {
  const code = error.code ?? '';
  return (
    CANNOT_USE_DATABASE.has(code) ||
    code.startsWith('08') ||
    /CERT|SSL|TLS/.test(code) ||
    error.name === 'KnexTimeoutError' ||
    // pg's own, without a code: a password the server asks for and the URL does not give, or TLS refused.
    /^SASL: |client password must be a string|does not support SSL/.test(error.message)
  );
}

/**
 * The database out of reach for a while, as in a failover or a restart: a connection refused or cut
 * (PostgreSQL shutting down, starting up, out of connections), the pool waiting in vain, SQLite's
 * file busy.
 */
export function databaseOutage(error: unknown): boolean {
  const e = error as Error & { code?: string };
  if (!(e instanceof Error)) return false;
  const code = e.code ?? '';
  return UNREACHABLE.has(code) || PASSING.has(code) || code.startsWith('08') || e.name === 'KnexTimeoutError' || /Connection terminated|terminating connection/.test(e.message);
}

/**
 * Runs `work` again through a passing database fault (up to five tries in all) and, while the
 * database cannot be reached (a failover), for up to `outageMs`: for a write that must follow
 * something already done outside the database (an email sent, a Slack message posted), which a
 * failure would otherwise make happen twice. Throws the last error when it still fails.
 */
export async function retryThroughOutage<T>(work: () => Promise<T>, options: { outageMs: number; stopping?: () => boolean }): Promise<T> {
  const startedAt = Date.now();
  for (let attempt = 1; ; attempt++) {
    try {
      return await work();
    } catch (error) {
      const outage = databaseOutage(error) && Date.now() - startedAt < options.outageMs && !options.stopping?.();
      if (attempt >= 5 && !outage) throw error;
      await new Promise((resolve) => setTimeout(resolve, Math.min(200 * attempt, options.outageMs / 10)));
    }
  }
}

/** The network's and PostgreSQL's "not reachable now" (starting up, out of connections): both an outage and a start that cannot use the database. */
const UNREACHABLE = new Set(['ECONNREFUSED', 'ENOTFOUND', 'EAI_AGAIN', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENETUNREACH', '57P03', '53300']);
/** Only passing: a connection cut under way (PostgreSQL shutting down, a reset), SQLite busy. */
const PASSING = new Set(['ECONNRESET', 'EPIPE', '57P01', '57P02', 'SQLITE_BUSY']);

/** What a start cannot use: the unreachable, and what waiting does not mend (a refused login, no such database, a file that cannot be opened). */
const CANNOT_USE_DATABASE = new Set([
  ...UNREACHABLE,
  'ENOENT', 'EACCES', '28P01', '28000', '3D000', '42501',
  'SQLITE_CANTOPEN', 'SQLITE_NOTADB', 'SQLITE_READONLY', 'SQLITE_PERM', 'SQLITE_CORRUPT',
]);

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

/**
 * After a bulk load, has PostgreSQL count the tables' rows now rather than when autovacuum comes by
 * (a minute or more later; until then it plans as if they were empty). Waits at most `lockTimeoutMs`
 * for the lock ANALYZE takes (a running VACUUM or ANALYZE holds it). SQLite: nothing to do.
 */
export async function analyzeNow(db: Db, tables: readonly string[], lockTimeoutMs = 2_000): Promise<void> {
  if (!isPostgres(db)) return;
  await db.transaction(async (trx) => {
    await trx.raw(`SET LOCAL lock_timeout = ${Math.round(lockTimeoutMs)}`);
    await trx.raw(`ANALYZE ${tables.map(() => '??').join(', ')}`, [...tables]);
  });
}

/** The larger of two SQL expressions: PostgreSQL's GREATEST, SQLite's two-argument MAX. */
export function greatestSql(db: Db | Trx, a: string, b: string): string {
  return isPostgres(db) ? `GREATEST(${a}, ${b})` : `MAX(${a}, ${b})`;
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
  return query.client.config.client === 'pg' ? (query.forUpdate() as Q) : query;
}

/**
 * The tail of a claiming sub-select: PostgreSQL locks the selected rows (waiting for a writer that
 * holds one, then re-checking it); SQLite has one writer at a time, so a plain select is already
 * exclusive.
 */
export function lockRowsSql(db: Db | Trx): string {
  return isPostgres(db) ? ' FOR UPDATE' : '';
}

/**
 * Names the index a query must use, where the planner would pick a worse one (SQLite only;
 * PostgreSQL's planner picks well here and has no such syntax). The expiry sweep's range of
 * pending expiries is one stretch of the (status, expires_at) index.
 */
export function useIndexSql(db: Db | Trx, index: string): string {
  return isPostgres(db) ? '' : ` INDEXED BY ${index}`;
}

/**
 * A condition that the SQL expression `column` holds `text` (lower-cased) anywhere, its LIKE
 * wildcards taken literally. A column that may hold capitals is passed as `lower(column)`:
 * PostgreSQL's LIKE minds case where SQLite's does not. `fold: false` matches the text as typed.
 */
export function containsText(query: Knex.QueryBuilder, column: string, text: string, options: { fold?: boolean; or?: boolean } = {}): void {
  const pattern = `%${(options.fold === false ? text : text.toLowerCase()).replace(/[\\%_]/g, (c) => '\\' + c)}%`;
  query[options.or ? 'orWhereRaw' : 'whereRaw'](`${column} LIKE ? ESCAPE '\\'`, [pattern]);
}
