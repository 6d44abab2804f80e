import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { linkFromEmail, OPERATOR, postForm, request, settled, startTestApp, type TestApp } from '../support/http.js';
import { report, sleep } from './support.js';

/**
 * Races on one invitation, on SQLite and PostgreSQL: 50 simultaneous accept submissions of one
 * token, and resend / revoke / accept all at once. The final state is one the rules allow, and the
 * emails sent are at most what that state implies.
 */

describe.each(DIALECTS)('races (%s)', (dialect) => {
  let t: TestApp;
  const figures = { acceptsFired: 0, acceptsWon: 0, mixedRounds: 0, mixedFinal: {} as Record<string, number>, emailsOverAllowed: 0 };

  beforeAll(async () => {
    t = await startTestApp(dialect);
  });
  afterAll(async () => {
    report(`races-${dialect}`, figures);
    await t?.close();
  });

  const count = async (table: string, where: Record<string, unknown>) => Number((await t.services.db(table).where(where).count<{ n: number }[]>({ n: '*' }))[0]!.n);

  it('50 concurrent accepts of one token make one member', async () => {
    await t.services.invites.inviteMany({ emails: 'race@acme.test', actor: OPERATOR });
    const { token } = await linkFromEmail(t.smtp, 'race@acme.test');
    const fields = { token, first_name: 'Race', last_name: 'Winner', password: 'a fine long password', confirm_password: 'a fine long password' };
    const answers = await Promise.all(Array.from({ length: 50 }, (_, i) => (i % 2 ? postForm(t.url, '/invite', fields) : request(t.url, '/admin/invites/accept', { body: { token, user: { first_name: 'Race', last_name: 'Winner', password: 'a fine long password' } } }))));
    figures.acceptsFired += 50;
    const won = answers.filter((a) => a.status === 200);
    figures.acceptsWon += won.length;
    expect(won).toHaveLength(1);
    for (const a of answers) expect(a.status === 200 || a.status === 409 || a.status === 400, `status ${a.status}`).toBe(true);
    expect(await count('members', { email: 'race@acme.test' })).toBe(1);
    expect(await count('audit_log', { action: 'accept' })).toBe(1);
  }, 60_000);

  it('resend, revoke and accept at once: a consistent final state and no more emails than it implies', async () => {
    for (let round = 0; round < 4; round++) {
      const email = `mixed${round}@acme.test`;
      const summary = await t.services.invites.inviteMany({ emails: email, actor: OPERATOR });
      const id = summary.invitationIds[0]!;
      const { token } = await linkFromEmail(t.smtp, email);
      // Odd rounds give the accepts (which hash a password first) a head start, so both ends occur.
      const delay = round % 2 ? 800 : 0;
      const later = <T,>(op: () => Promise<T>) => () => sleep(delay * (0.5 + Math.random() / 2)).then(op);
      const ops: Array<{ kind: 'resend' | 'revoke' | 'accept'; run: () => Promise<Awaited<ReturnType<typeof request>>> }> = [
        ...Array.from({ length: 6 }, () => ({ kind: 'resend' as const, run: later(() => request(t.url, `/admin/invites/${id}/resend`, { method: 'POST', apiToken: t.admin.apiToken, body: {} })) })),
        ...Array.from({ length: 3 }, () => ({ kind: 'revoke' as const, run: later(() => request(t.url, `/admin/invites/${id}`, { method: 'DELETE', apiToken: t.admin.apiToken })) })),
        ...Array.from({ length: 3 }, () => ({ kind: 'accept' as const, run: () => postForm(t.url, '/invite', { token, first_name: 'M', last_name: 'X', password: 'a fine long password', confirm_password: 'a fine long password' }) })),
      ];
      ops.sort(() => Math.random() - 0.5);
      const answers = await Promise.all(ops.map((op) => op.run()));
      const okResends = answers.filter((a, i) => ops[i]!.kind === 'resend' && a.status === 200).length;
      for (const a of answers) expect(a.status, a.text.slice(0, 200)).toBeLessThan(500);
      await settled(t.services, 20_000);
      await sleep(200);
      const row = await t.services.db('invitations').where({ id }).first();
      figures.mixedRounds++;
      figures.mixedFinal[row.status] = (figures.mixedFinal[row.status] ?? 0) + 1;
      const members = await count('members', { email });
      const accepts = await count('audit_log', { subject_id: id, action: 'accept' });
      const revokes = await count('audit_log', { subject_id: id, action: 'revoke' });
      const resends = await count('audit_log', { subject_id: id, action: 'resend' });
      // Exactly one of the two ends, never both.
      expect(['accepted', 'revoked']).toContain(row.status);
      expect(accepts + revokes).toBe(1);
      expect(members).toBe(row.status === 'accepted' ? 1 : 0);
      // Each successful resend answered 200 and was audited once; refused ones left no trace.
      expect(resends).toBe(okResends);
      expect(Number(row.send_count)).toBe(1 + resends);
      // At most one email per send the final state still allows (the first + each resend), none after the end.
      const received = t.smtp.to(email).length;
      if (received > 1 + resends) figures.emailsOverAllowed++;
      expect(received).toBeLessThanOrEqual(1 + resends);
      expect(await count('outbox', { invitation_id: id, state: 'pending' })).toBe(0);
      // Distinct emails only: no Message-ID arrived twice.
      const ids = t.smtp.to(email).map((m) => m.messageId);
      expect(new Set(ids).size).toBe(ids.length);
    }
  }, 90_000);
});
