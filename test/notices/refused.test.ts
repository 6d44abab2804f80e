import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DIALECTS } from '../support/db.js';
import { MEMBER_ADMIN, pause, SLACK_ACTOR, SlackWorld, textOf } from '../support/slack-world.js';

describe.each(DIALECTS)('a mail server refusing an invitation (%s)', (dialect) => {
  let h: SlackWorld;
  beforeAll(async () => {
    h = await SlackWorld.start(dialect);
  });
  afterAll(async () => {
    expect(h.api.rejected()).toEqual([]);
    await h.stop();
  });

  it('marks the delivery refused with the server\'s words and tells the inviter once, with the likely typo', async () => {
    h.smtp.fail({ kind: 'reply', at: 'rcpt', code: 550, message: '5.1.1 no such user', times: 1 });
    const [id] = await h.invite(['jane@gmial.com'], SLACK_ACTOR);
    const [dm] = await h.waitForDms(MEMBER_ADMIN, 1);
    const text = textOf(dm!.args as any);
    expect(text).toContain('Mail to *jane@gmial.com* was refused: 550 5.1.1 no such user');
    expect(text).toContain('Did you mean *jane@gmail.com*?');
    expect(dm!.args.text).toContain('did you mean jane@gmail.com?');
    const invitation = await h.services.invites.get(id!);
    expect(invitation.delivery).toEqual({ state: 'refused', error: '550 5.1.1 no such user' });
    // The table says so too, and nothing is retried or told twice.
    const table = (await h.slash('invites')).ack.json as any;
    expect(textOf(table)).toContain('Email refused: 550 5.1.1 no such user');
    h.clock.advance(24 * 3_600_000);
    await pause(600);
    expect(h.dms(MEMBER_ADMIN)).toHaveLength(1);
    expect(h.smtp.received).toHaveLength(0);
    // What the rows say, whenever the worker looks: the email settled after its one attempt, one notice queued.
    const rows = (await h.db.db('outbox').where({ invitation_id: id! }).select('kind', 'state', 'attempts')) as Array<{ kind: string; state: string; attempts: number | string }>;
    expect(rows.filter((r) => r.kind === 'invite_email').map((r) => [r.state, Number(r.attempts)])).toEqual([['done', 1]]);
    expect(rows.filter((r) => r.kind === 'slack_notice')).toHaveLength(1);
  });

  it('the server\'s words are shown as words: a mention or a labelled link in them does not work, in the blocks or the notification text', async () => {
    h.smtp.fail({ kind: 'reply', at: 'rcpt', code: 550, message: '5.7.1 <!here> blocked, <https://evil.example|re-verify here>', times: 1 });
    const dmsBefore = h.dms(MEMBER_ADMIN).length;
    await h.invite(['mallory@corp.test'], SLACK_ACTOR);
    const dm = (await h.waitForDms(MEMBER_ADMIN, dmsBefore + 1))[dmsBefore]!;
    for (const text of [String(dm.args.text), JSON.stringify(dm.args.blocks)]) {
      expect(text).toContain('&lt;!here&gt; blocked, &lt;https://evil.example|re-verify here&gt;');
      expect(text).not.toContain('<!here>');
      expect(text).not.toContain('<https://evil');
    }
  });
});
