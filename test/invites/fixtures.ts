import { afterEach, beforeEach } from 'vitest';
import type { Db } from '../../src/db/index.js';
import type { InvitationRow } from '../../src/invites/model.js';
import { InvitesService, type InvitesSettings } from '../../src/invites/service.js';
import { deriveToken } from '../../src/invites/tokens.js';
import { MembersService } from '../../src/members/service.js';
import type { Actor } from '../../src/shared/actor.js';
import type { OutboxRow } from '../../src/outbox/outbox.js';
import { createTestDatabase, ManualClock, TEST_SECRET, type Dialect, type TestDatabase } from '../support/db.js';

export const DAY = 86_400_000;
export const TTL = 7 * DAY;
export const PUBLIC_URL = 'http://doorman.test';
export const SETTINGS: InvitesSettings = { appSecret: TEST_SECRET, publicUrl: PUBLIC_URL, inviteTtlMs: TTL };

export const SLACK_ADMIN: Actor = { type: 'slack', slackUserId: 'U123ADMIN', name: 'Ada Admin' };
export const CLI: Actor = { type: 'system', name: 'cli' };

export interface World {
  test: TestDatabase;
  db: Db;
  clock: ManualClock;
  invites: InvitesService;
  members: MembersService;
}

/**
 * A fresh migrated database (SQLite file or throwaway PostgreSQL database) and the two domain
 * services over it, for every test of the enclosing describe block.
 */
export function useWorld(dialect: Dialect): () => World {
  let world: World | undefined;
  beforeEach(async () => {
    const test = await createTestDatabase(dialect);
    const clock = new ManualClock();
    world = { test, db: test.db, clock, invites: new InvitesService(test.db, clock, SETTINGS), members: new MembersService(test.db, clock) };
  });
  afterEach(async () => {
    await world?.test.destroy();
    world = undefined;
  });
  return () => {
    if (!world) throw new Error('world used outside a test');
    return world;
  };
}

export async function invitationRow(db: Db, id: string): Promise<InvitationRow> {
  const row = await db<InvitationRow>('invitations').where({ id }).first();
  if (!row) throw new Error(`no invitation ${id}`);
  return row;
}

export async function invitationByEmail(db: Db, email: string): Promise<InvitationRow[]> {
  return db<InvitationRow>('invitations').where({ email }).orderBy('created_at');
}

/** The token the invitee received by email: what only a holder of APP_SECRET can compute. */
export async function currentToken(db: Db, id: string): Promise<string> {
  return deriveToken(TEST_SECRET, (await invitationRow(db, id)).token_nonce);
}

/** Invites one address and returns its invitation id and token. */
export async function inviteOne(world: World, email: string, role: 'admin' | 'member' | 'developer' = 'member'): Promise<{ id: string; token: string }> {
  // An admin invitation by a person waits for approval (the rule "Policy"); the operator's goes out.
  const summary = await world.invites.inviteMany({ emails: email, role, actor: role === 'admin' ? CLI : SLACK_ADMIN });
  const id = summary.invitationIds[0];
  if (!id) throw new Error(`${email} was not invited: ${JSON.stringify(summary)}`);
  return { id, token: await currentToken(world.db, id) };
}

export async function outboxFor(db: Db, invitationId: string): Promise<OutboxRow[]> {
  return db<OutboxRow>('outbox').where({ invitation_id: invitationId }).orderBy('id');
}

export async function countRows(db: Db, table: string, where: Record<string, unknown> = {}): Promise<number> {
  const rows = await db(table).where(where).count<{ n: number | string }[]>({ n: '*' });
  return Number(rows[0]?.n ?? 0);
}

export interface AuditRow {
  id: number;
  at: number;
  actor_type: string;
  actor_id: string | null;
  action: string;
  subject_type: string;
  subject_id: string;
  details: string | null;
}

export async function auditFor(db: Db, subjectId: string): Promise<AuditRow[]> {
  return db<AuditRow>('audit_log').where({ subject_id: subjectId }).orderBy('id');
}

export function tokenFromLink(link: string): string {
  const token = new URL(link).searchParams.get('token');
  if (!token) throw new Error(`no token in ${link}`);
  return token;
}

export const PASSWORD = 'correct horse battery staple';

/** Brings an invitation into each shown state. */
export async function inState(w: World, state: 'pending' | 'expired' | 'accepted' | 'revoked', email = `${state}@x.io`): Promise<{ id: string; token: string }> {
  const invited = await inviteOne(w, email);
  if (state === 'expired') w.clock.advance(TTL);
  if (state === 'accepted') await w.invites.accept({ token: invited.token, firstName: 'A', lastName: 'B', password: PASSWORD });
  if (state === 'revoked') await w.invites.revoke(invited.id, CLI);
  return invited;
}

/** Every table a change writes, to compare before and after a refusal. */
export async function snapshot(w: World) {
  const [invitations, members, outbox, audit] = await Promise.all(
    ['invitations', 'members', 'outbox', 'audit_log'].map((table) => w.db(table).select('*').orderBy(table === 'outbox' || table === 'audit_log' ? 'id' : 'id')),
  );
  return { invitations, members, outbox, audit };
}
