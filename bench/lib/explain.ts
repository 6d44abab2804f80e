import { isPostgres, type Db } from '../../src/db/index.js';

export interface Explained {
  what: string;
  sql: string;
  plan: string;
}

/**
 * Runs `work` while recording the SQL it sends, then asks the database how it runs each statement:
 * SQLite's EXPLAIN QUERY PLAN, PostgreSQL's EXPLAIN (ANALYZE, BUFFERS).
 */
export async function explainQueries(db: Db, what: string, work: () => Promise<unknown>): Promise<Explained[]> {
  const seen: Array<{ sql: string; bindings: unknown[] }> = [];
  const listener = (q: { sql: string; bindings?: unknown[] }) => seen.push({ sql: q.sql, bindings: q.bindings ?? [] });
  db.on('query', listener);
  try {
    await work();
  } finally {
    db.off('query', listener);
  }
  const out: Explained[] = [];
  for (const q of seen) {
    // knex hands PostgreSQL $n placeholders; raw() wants ? again.
    const sql = q.sql.replace(/\$\d+/g, '?');
    let plan: string;
    if (isPostgres(db)) {
      const result = (await db.raw(`EXPLAIN (ANALYZE, BUFFERS) ${sql}`, q.bindings as never[])) as { rows: Array<Record<string, string>> };
      plan = result.rows.map((r) => r['QUERY PLAN']).join('\n');
    } else {
      const rows = (await db.raw(`EXPLAIN QUERY PLAN ${sql}`, q.bindings as never[])) as Array<{ id: number; parent: number; detail: string }>;
      const depth = new Map<number, number>();
      plan = rows
        .map((r) => {
          const d = (depth.get(r.parent) ?? -1) + 1;
          depth.set(r.id, d);
          return `${'  '.repeat(d)}${r.detail}`;
        })
        .join('\n');
    }
    out.push({ what, sql: inline(sql, q.bindings), plan });
  }
  return out;
}

function inline(sql: string, bindings: unknown[]): string {
  let i = 0;
  return sql.replace(/\?/g, () => {
    const value = bindings[i++];
    return typeof value === 'string' ? `'${value}'` : String(value);
  });
}
