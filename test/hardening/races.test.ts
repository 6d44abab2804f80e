import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { linkFromEmail, OPERATOR, postForm, request, settled, startTestApp, type TestApp } from '../support/http.js';
import { report, sleep, until } from './support.js';

/**
 * Races on one invitation, on SQLite and PostgreSQL: 50 simultaneous accept submissions of one
 * token, and resend / revoke / accept all at once. The final state is one the rules allow, and the
 * emails sent are at most what that state implies.
 */

describe.each(DIALECTS)('races (%s)', (dialect) => {
  let t: TestApp;
  const figures = { acceptsFired: 0, acceptsWon: 0, acceptsShed: 0, mixedRounds: 0, mixedFinal: {} as Record<string, number>, emailsOverAllowed: 0, revokesDuringDelivery: 0, revokesFailed: 0 };

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
    // The form's success is a redirect to its welcome (303), the API's a 200.
    const won = answers.filter((a) => a.status === 200 || a.status === 303);
    figures.acceptsWon += won.length;
    expect(won).toHaveLength(1);
    // The losers are refused (already accepted), or — more password hashes waiting than the service
    // takes on (src/members/passwords.ts) — shed with the documented 503 "try again in a moment",
    // which changes nothing; anything else (a 500, another 5xx) is a failure.
    const shed = (a: (typeof answers)[number]) => a.status === 503 && (a.headers.get('retry-after') !== null || /try again in a moment/i.test(a.text));
    figures.acceptsShed += answers.filter(shed).length;
    for (const a of answers) expect(a.status === 200 || a.status === 303 || a.status === 409 || a.status === 400 || shed(a), `status ${a.status}: ${a.text.slice(0, 200)}`).toBe(true);
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
  // A revoke locks the invitation, then its outbox rows; the worker, recording a delivery, does the
  // same in the same order (src/outbox/claims.ts), so the two never deadlock.
  it('revoking while the worker records the deliveries: every revoke answers, none deadlocks', async () => {
    const emails = Array.from({ length: 150 }, (_, i) => `busy${i}@acme.test`);
    const ids = new Map<string, string>();
    const revokes: Array<Promise<string | undefined>> = [];
    // The moment the SMTP server takes an email, its invitation is revoked — a few milliseconds
    // either side of the worker recording that delivery (outbox row, then the invitation).
    const received = t.smtp.received;
    const push = received.push.bind(received);
    received.push = (...mails) => {
      for (const mail of mails) {
        const id = ids.get(mail.envelope.to[0] ?? '');
        if (!id) continue;
        revokes.push(
          sleep(Math.random() * 6).then(() =>
            t.services.invites.revoke(id, OPERATOR).then(
              () => undefined,
              (error: { code?: string; message?: string }) => (error.code === 'invite_revoked' ? undefined : `${error.code ?? ''} ${String(error.message).slice(0, 120)}`),
            ),
          ),
        );
      }
      return push(...mails);
    };
    try {
      const { invitationIds } = await t.services.invites.inviteMany({ emails, actor: OPERATOR });
      invitationIds.forEach((id, i) => ids.set(emails[i]!, id));
      await until(() => revokes.length === emails.length, 30_000, 'every email, and its revoke');
      const failed = (await Promise.all(revokes)).filter((f): f is string => f !== undefined);
      figures.revokesDuringDelivery += revokes.length;
      figures.revokesFailed += failed.length;
      expect(failed).toEqual([]);
      await settled(t.services, 20_000);
      const rows = await t.services.db('invitations').whereIn('id', invitationIds).select('status');
      expect(rows.every((r: { status: string }) => r.status === 'revoked')).toBe(true);
    } finally {
      received.push = push;
    }
  }, 60_000);
});
