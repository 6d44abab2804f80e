import type { Knex } from 'knex';
import { isPostgres, type Db, type Trx } from './index.js';

/**
 * Many rows in few statements, built here because knex compiles one small INSERT per few hundred rows.
 * PostgreSQL gets one typed `unnest` array per varying column, hence the column types. Rows keep their
 * order (serial ids follow it), and a value left `undefined` is stored as NULL, never the column's default.
 */
export type ColumnType = 'text' | 'bigint' | 'integer';
export type ColumnTypes<Row> = { readonly [K in keyof Row]-?: ColumnType };

export interface BulkInsertOptions {
  /** `ON CONFLICT (column) DO NOTHING`: a row whose value is already stored there is skipped. */
  ignoreConflictOn?: string;
}

/** SQLite's default SQLITE_MAX_VARIABLE_NUMBER (since 3.32). */
export const SQLITE_MAX_VARIABLES = 32_766;
/** Rows per PostgreSQL statement: its arrays are built in memory, so not unbounded. */
export const PG_MAX_ROWS = 5_000;

export async function bulkInsert<Row extends object>(
  db: Db | Trx,
  table: string,
  columns: ColumnTypes<Row>,
  rows: readonly Row[],
  options: BulkInsertOptions = {},
): Promise<void> {
  const names = Object.keys(columns) as Array<keyof Row & string>;
  const pg = isPostgres(db);
  for (let start = 0; start < rows.length; ) {
    const remaining = rows.slice(start, start + (pg ? PG_MAX_ROWS : SQLITE_MAX_VARIABLES));
    const { constant, varying } = splitColumns(names, remaining);
    // SQLite: each row binds one variable per varying column; the constants are bound once.
    const count = pg ? remaining.length : Math.min(remaining.length, Math.floor((SQLITE_MAX_VARIABLES - constant.length) / varying.length));
    const chunk = count === remaining.length ? remaining : remaining.slice(0, count);
    const parts = pg ? postgresInsert(table, columns, constant, varying, chunk) : sqliteInsert(table, constant, varying, chunk);
    const conflict = options.ignoreConflictOn ? ` ON CONFLICT (${quote(options.ignoreConflictOn)}) DO NOTHING` : '';
    await db.raw(parts.sql + conflict, parts.bindings);
    start += count;
  }
}

/** Columns whose value is the same in every row, and the rest (at least one, so rows stay rows). */
function splitColumns<Row extends object>(names: Array<keyof Row & string>, rows: readonly Row[]) {
  const constant: Array<keyof Row & string> = [];
  const varying: Array<keyof Row & string> = [];
  const first = rows[0]!;
  for (const name of names) {
    const value = first[name] ?? null;
    if (rows.every((row) => (row[name] ?? null) === value)) constant.push(name);
    else varying.push(name);
  }
  if (varying.length === 0) varying.push(constant.shift()!);
  return { constant, varying };
}

type Statement = { sql: string; bindings: Knex.RawBinding[] };

function sqliteInsert<Row extends object>(table: string, constant: Array<keyof Row & string>, varying: Array<keyof Row & string>, rows: readonly Row[]): Statement {
  const bindings = constant.map((name) => (rows[0]![name] ?? null) as Knex.RawBinding);
  for (const row of rows) for (const name of varying) bindings.push((row[name] ?? null) as Knex.RawBinding);
  const select = [...varying.map((_, i) => `column${i + 1}`), ...constant.map(() => '?')].join(', ');
  // `WHERE true` keeps SQLite's parser from reading a following ON CONFLICT as a join's ON.
  const sql = `INSERT INTO ${quote(table)} (${[...varying, ...constant].map(quote).join(', ')}) SELECT ${select} FROM (VALUES ${valuesList(varying.length, rows.length)}) WHERE true`;
  return { sql, bindings };
}

function postgresInsert<Row extends object>(
  table: string,
  columns: ColumnTypes<Row>,
  constant: Array<keyof Row & string>,
  varying: Array<keyof Row & string>,
  rows: readonly Row[],
): Statement {
  const bindings = constant.map((name) => (rows[0]![name] ?? null) as Knex.RawBinding);
  for (const name of varying) bindings.push(rows.map((row) => row[name] ?? null) as Knex.RawBinding);
  const select = ['u.*', ...constant.map((name) => `?::${columns[name]}`)].join(', ');
  const arrays = varying.map((name) => `?::${columns[name]}[]`).join(', ');
  const sql = `INSERT INTO ${quote(table)} (${[...varying, ...constant].map(quote).join(', ')}) SELECT ${select} FROM unnest(${arrays}) AS u`;
  return { sql, bindings };
}

/** `(?, ?), (?, ?), …`: `count` rows of `width` placeholders. */
function valuesList(width: number, count: number): string {
  const row = `(${Array.from({ length: width }, () => '?').join(', ')})`;
  return Array.from({ length: count }, () => row).join(', ');
}

function quote(identifier: string): string {
  if (!/^[a-z_][a-z0-9_]*$/.test(identifier)) throw new Error(`bulkInsert: "${identifier}" is not a plain table or column name`);
  return `"${identifier}"`;
}
