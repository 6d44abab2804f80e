import type { Db } from '../../src/db/index.js';
import { InvitesService } from '../../src/invites/service.js';
import { MembersService } from '../../src/members/service.js';
import type { Actor } from '../../src/shared/actor.js';
import { ManualClock, TEST_SECRET } from '../support/db.js';

export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;
/** The report's week ends Monday 30 November 2026, 09:00 UTC (`mon 09:00`, REPORT_TZ unset). */
export const END = Date.UTC(2026, 10, 30, 9, 0);
export const START = END - 7 * DAY;
export const PREVIOUS_START = START - 7 * DAY;
export const INVITER: Actor = { type: 'slack', slackUserId: 'U0INVITER', name: 'Ivy Inviter' };
const PASSWORD = 'a long test passphrase';

/**
 * Two weeks of invitations, driven through the real domain with a clock moved by hand, ending three
 * hours after END (so two changes after the week ends must not move its figures):
 *
 * before the previous week (P = PREVIOUS_START)
 *   P-2d   old1, old2, old3 invited by Ada (a member); they expire at P+5d
 * previous week [P, S)
 *   P+1h   acc1, acc2, acc3, pend1, exp1, ref1, rn1 invited by a Slack user (7 sent); expire at S+1h
 *   P+3h   acc1 accepted (took 2h)        P+1d+1h  acc2 accepted (took 1d)
 *   P+2d+1h  pend1 resent (expires S+2d+1h)
 *   P+6d   old3 revoked (after it expired)
 *   ref1's email refused by gamma.test
 * this week [S, E)
 *   S+30m  acc3 accepted (took 6d 23h 30m)
 *   S+1d   old1 sent anew (1 sent); pend1 resent again
 *   S+2d   new1, new2, new3, fail1, ref2, rev1 invited by the Slack user (6 sent)
 *   S+2d+30m new1 accepted (30m)   S+3d new2 accepted (1d)   S+5d+6h new3 accepted (3d 6h)
 *   S+3d   rn1 sent anew (1 sent)
 *   S+5d   late1 invited (1 sent; pending only 2 days at E)
 *   fail1's email failing (delta.test), ref2's refused (gamma.test)
 * after the week
 *   E+1h   rev1 revoked        E+2h  exp1 sent anew
 */
export async function seedHistory(db: Db): Promise<{ clock: ManualClock; ids: Record<string, string> }> {
  const clock = new ManualClock(PREVIOUS_START - 2 * DAY);
  const members = new MembersService(db, clock);
  const invites = new InvitesService(db, clock, { appSecret: TEST_SECRET, publicUrl: 'http://doorman.test', inviteTtlMs: 7 * DAY, members });
  const at = (ms: number) => {
    if (ms < clock.now()) throw new Error('the history must move forward');
    clock.current = ms;
  };
  const ids: Record<string, string> = {};
  const invite = async (names: string[], actor: Actor) => {
    const summary = await invites.inviteMany({ emails: names.map(email), actor });
    summary.invitationIds.forEach((id, i) => (ids[names[i]!] = id));
  };
  const accept = async (name: string) => {
    const { link } = await invites.copyLink(ids[name]!);
    await invites.accept({ token: new URL(link).searchParams.get('token')!, firstName: 'New', lastName: name, password: PASSWORD });
  };
  const delivery = (name: string, state: 'refused' | 'failing') =>
    db('invitations').where({ id: ids[name] }).update({ delivery_state: state, delivery_error: state === 'refused' ? '550 no such user' : 'connection refused' });

  const ada = await members.create({ email: 'ada.history@corp.test', role: 'admin', firstName: 'Ada', lastName: 'Admin' }, { type: 'system' });
  await invite(['old1', 'old2', 'old3'], { type: 'member', memberId: ada.member.id, name: 'Ada Admin' });

  at(PREVIOUS_START + HOUR);
  await invite(['acc1', 'acc2', 'acc3', 'pend1', 'exp1', 'ref1', 'rn1'], INVITER);
  await delivery('ref1', 'refused');
  at(PREVIOUS_START + 3 * HOUR);
  await accept('acc1');
  at(PREVIOUS_START + DAY + HOUR);
  await accept('acc2');
  at(PREVIOUS_START + 2 * DAY + HOUR);
  await invites.resend(ids.pend1!, INVITER);
  at(PREVIOUS_START + 6 * DAY);
  await invites.revoke(ids.old3!, INVITER);

  at(START + 30 * 60_000);
  await accept('acc3');
  at(START + DAY);
  await invites.renew(ids.old1!, INVITER);
  await invites.resend(ids.pend1!, INVITER);
  at(START + 2 * DAY);
  await invite(['new1', 'new2', 'new3', 'fail1', 'ref2', 'rev1'], INVITER);
  await delivery('fail1', 'failing');
  await delivery('ref2', 'refused');
  at(START + 2 * DAY + 30 * 60_000);
  await accept('new1');
  at(START + 3 * DAY);
  await accept('new2');
  await invites.renew(ids.rn1!, INVITER);
  at(START + 5 * DAY);
  await invite(['late1'], INVITER);
  at(START + 5 * DAY + 6 * HOUR);
  await accept('new3');

  at(END + HOUR);
  await invites.revoke(ids.rev1!, INVITER);
  at(END + 2 * HOUR);
  await invites.renew(ids.exp1!, INVITER);
  at(END + 3 * HOUR);
  return { clock, ids };
}

/** Each name's address: its domain says where its deliveries go. */
export function email(name: string): string {
  if (name === 'ref1' || name === 'ref2') return `${name}@gamma.test`;
  if (name === 'fail1' || name.startsWith('new')) return `${name}@delta.test`;
  return `${name}@alpha.test`;
}
