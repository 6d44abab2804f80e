import { isPostgres, type Db } from '../../src/db/index.js';
import { moveMark, SWEEP_MARKS } from '../../src/jobs/expiry-sweep.js';

const MINUTE = 60_000;
const DAY = 24 * 60 * MINUTE;
/** The TTL seeded rows were issued with (Doorman's default). */
export const SEED_TTL_MS = 7 * DAY;

/**
 * Seeds `count` invitations with one INSERT … SELECT per batch, generated inside the database
 * (setup, not measured). Row n (1…count) was created `count - n` minutes before `now`, so the
 * table spans ~2 years at 1,000,000 rows. The mix, like an organization's long history:
 * - the last week: 50% pending and live, 35% accepted, 15% revoked;
 * - older: 70% accepted, 15% revoked, 15% pending and expired (already announced: the sweep's
 *   expiry mark is set to `now`, as a sweep at `now` would have left it).
 * Emails, ids and token hashes are unique; nothing references a member.
 */
export async function seedInvitations(db: Db, count: number, now: number, options: { batch?: number; startAt?: number; emailPrefix?: string } = {}): Promise<void> {
  const batch = options.batch ?? 100_000;
  const start = options.startAt ?? 1;
  const prefix = options.emailPrefix ?? 'seed';
  const pg = isPostgres(db);
  for (let from = start; from < start + count; from += batch) {
    const to = Math.min(start + count - 1, from + batch - 1);
    await db.raw(pg ? pgSeedSql(prefix) : sqliteSeedSql(prefix), pg ? { from, to, count: start + count - 1, now } : { from, to, count: start + count - 1, now });
  }
  await moveMark(db, SWEEP_MARKS.expired, now, now);
  if (pg) await db.raw('VACUUM ANALYZE invitations');
  else await db.raw('ANALYZE');
}

// Shared expressions over n (row number) and c (created_at), written once per dialect below.
function columns(d: { mod: (a: string, b: number) => string; pad: (n: string, w: number) => string; hex: (n: string) => string; cat: (...p: string[]) => string }, prefix: string) {
  const c = `(:now - (:count - n) * ${MINUTE})`;
  const recent = `(:now - ${c} < ${SEED_TTL_MS})`;
  const bucket = d.mod('n', 20);
  // status: 'p' pending, 'a' accepted, 'r' revoked
  const status = `CASE WHEN ${recent} THEN (CASE WHEN ${bucket} < 10 THEN 'pending' WHEN ${bucket} < 17 THEN 'accepted' ELSE 'revoked' END)
                       ELSE (CASE WHEN ${bucket} < 14 THEN 'accepted' WHEN ${bucket} < 17 THEN 'revoked' ELSE 'pending' END) END`;
  return {
    c,
    status,
    id: d.cat(`'invite_S'`, d.pad('n', 10)),
    email: d.cat(`'${prefix}'`, 'n', `'@seed.example'`),
    tokenHash: d.cat(`'${prefix.slice(0, 4)}'`, d.hex('n')),
  };
}

/** The INSERT … SELECT over a `rows (n, c, status)` source, the same on both databases. */
function insertFromRows(k: ReturnType<typeof columns>): string {
  return `
    INSERT INTO invitations (id, email, role, status, token_hash, token_nonce, expires_at, invited_by_slack_user_id, invited_by_name,
      created_at, updated_at, last_sent_at, send_count, accepted_at, revoked_at, revoked_by, delivery_state)
    SELECT ${k.id}, ${k.email}, CASE WHEN n % 50 = 0 THEN 'admin' ELSE 'member' END, status, ${k.tokenHash}, 'seed-nonce-' || n,
      c + ${SEED_TTL_MS}, 'U0SEEDER', 'Seeder', c, c, c, 1,
      CASE WHEN status = 'accepted' THEN c + 3600000 END, CASE WHEN status = 'revoked' THEN c + 7200000 END, CASE WHEN status = 'revoked' THEN 'system' END,
      'sent'
    FROM rows`;
}

function sqliteSeedSql(prefix: string): string {
  const k = columns(
    {
      mod: (a, b) => `(${a} % ${b})`,
      pad: (n, w) => `printf('%0${w}d', ${n})`,
      hex: (n) => `printf('%060x', ${n})`,
      cat: (...p) => p.join(' || '),
    },
    prefix,
  );
  return `
    WITH RECURSIVE seq(n) AS (SELECT :from UNION ALL SELECT n + 1 FROM seq WHERE n < :to),
    rows AS (SELECT n, ${k.c} AS c, ${k.status} AS status FROM seq)${insertFromRows(k)}`;
}

function pgSeedSql(prefix: string): string {
  const k = columns(
    {
      mod: (a, b) => `(${a} % ${b})`,
      pad: (n, w) => `lpad(${n}::text, ${w}, '0')`,
      hex: (n) => `lpad(to_hex(${n}), 60, '0')`,
      cat: (...p) => p.join(' || '),
    },
    prefix,
  );
  return `
    WITH rows AS (SELECT n, ${k.c}::bigint AS c, ${k.status} AS status FROM generate_series(:from::bigint, :to::bigint) AS n)${insertFromRows(k)}`;
}
