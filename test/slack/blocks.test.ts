import { describe, expect, it } from 'vitest';
import type { Invitation, InviteSummary } from '../../src/invites/model.js';
import type { Member } from '../../src/members/service.js';
import { parseAllowedDomains } from '../../src/invites/policy.js';
import { fileReviewMessage } from '../../src/slack/blocks/file-review.js';
import { homeView } from '../../src/slack/blocks/home.js';
import { invitedView, inviteModal, linkView, refusedView, reviewSections } from '../../src/slack/blocks/invite-modal.js';
import { closestSubcommand, helpMessage } from '../../src/slack/blocks/help.js';
import { inviteSummary } from '../../src/slack/blocks/invite-summary.js';
import { invitesTable } from '../../src/slack/blocks/invites-table.js';
import { clip, limitViolations } from '../../src/slack/blocks/limits.js';
import { membersList } from '../../src/slack/blocks/members.js';
import { invitationSection, listWithin, slackDate } from '../../src/slack/blocks/format.js';
import { acceptedNotice, listNotice } from '../../src/slack/blocks/notice-dms.js';
import { repeatClaims } from '../../src/slack/dedupe.js';
import { blockText, MAX_BLOCKS_TEXT } from '../support/slack-api.js';
import { clipSearch, decodeMember, decodeMemberRole, decodeRow, decodeTable, DEFAULT_TABLE, encodeMember, encodeRow, encodeTable } from '../../src/slack/action-values.js';

const T0 = Date.UTC(2026, 10, 22, 9, 0, 0);
const counts = { pending: 12, expired: 2, accepted: 3, revoked: 1, awaiting_approval: 0, all: 18 };

function invitation(i: number, status: Invitation['status'], email = `person${i}@example.com`): Invitation {
  return {
    id: `invite_01J${String(i).padStart(23, '0')}`,
    email,
    role: 'member',
    status,
    expiresAt: T0 + 7 * 86_400_000,
    createdAt: T0 - i * 60_000,
    updatedAt: T0,
    lastSentAt: T0,
    sendCount: 1,
    invitedBy: { memberId: null, slackUserId: 'U0ADMIN', name: 'Boss' },
    acceptedAt: status === 'accepted' ? T0 + 1000 : null,
    acceptedMemberId: null,
    revokedAt: status === 'revoked' ? T0 + 2000 : null,
    revokedBy: null,
    delivery: { state: i === 3 ? 'failing' : i === 4 ? 'refused' : 'sent', error: i === 3 ? '454 try again later' : i === 4 ? '550 no such user' : null },
    metadata: null,
    message: null,
  };
}

function member(i: number, role: Member['role'], state: Member['state'] = 'active'): Member {
  return { id: `usr_01J${String(i).padStart(23, '0')}`, email: `m${i}@example.com`, firstName: i % 2 ? `First${i}` : null, lastName: i % 2 ? 'Last' : null, role, state, slackUserId: i === 1 ? 'U0ADA' : null, hasApiToken: false, createdAt: T0, updatedAt: T0, sessionVersion: 1 } as Member;
}

const statuses: Invitation['status'][] = ['pending', 'expired', 'accepted', 'revoked'];
const longEmail = `${'x'.repeat(64)}@${'a'.repeat(60)}.${'b'.repeat(60)}.${'c'.repeat(60)}.example.com`;

describe('clip', () => {
  it('keeps text within the limit as it is, and cuts longer text by characters, never inside one', () => {
    const text = 'a'.repeat(75);
    expect(clip(text, 75)).toBe(text);
    expect(clip('abcdef', 4)).toBe('abc…');
    // Four emoji are eight UTF-16 units but four characters: within a limit of 4, cut at 3 without splitting a pair.
    expect(clip('😀😀😀😀', 4)).toBe('😀😀😀😀');
    expect(clip('😀😀😀😀😀', 4)).toBe('😀😀😀…');
  });
});

describe('Block Kit builders', () => {
  it('the invitations table', () => {
    const message = invitesTable({ invitations: Array.from({ length: 10 }, (_, i) => invitation(i, statuses[i % 4]!)), total: 23, state: { ...DEFAULT_TABLE, status: 'all', offset: 10 }, counts, notice: ':incoming_envelope: Sent the invitation to *person1@example.com* again.' });
    expect(limitViolations('message', message.blocks)).toEqual([]);
    expect(message).toMatchSnapshot();
  });

  it('the table stays within limits with the longest addresses and the deepest page', () => {
    const message = invitesTable({ invitations: Array.from({ length: 10 }, (_, i) => ({ ...invitation(i, i % 2 ? 'pending' : 'expired', longEmail), delivery: { state: 'failing' as const, error: 'e'.repeat(5000) } })), total: 999_999, state: { status: 'pending', sort: 'expires', order: 'asc', offset: 999_980 }, counts, notice: 'n'.repeat(10_000) });
    expect(message.blocks.length).toBeLessThanOrEqual(50);
    expect(limitViolations('message', message.blocks)).toEqual([]);
  });

  it('an empty table', () => {
    expect(invitesTable({ invitations: [], total: 0, state: DEFAULT_TABLE, counts: { pending: 0, expired: 0, accepted: 0, revoked: 0, awaiting_approval: 0, all: 0 } })).toMatchSnapshot();
  });

  it('the invite summary names each skipped and invalid entry, with Resend buttons capped', () => {
    const summary: InviteSummary = {
      sent: ['a@example.com', 'b@example.com'],
      renewed: ['c@example.com'],
      alreadyMember: ['d@example.com'],
      alreadyInvited: [{ email: 'e@example.com', invitationId: 'invite_01JE' }],
      invalid: [{ entry: 'not-an-email', reason: 'not an email address (no @)' }],
      invitationIds: ['invite_01JA', 'invite_01JB', 'invite_01JC'],
    };
    const message = inviteSummary(summary, '/doorman', { total: 3, sent: 1, failing: 1 });
    expect(limitViolations('message', message.blocks)).toEqual([]);
    expect(message).toMatchSnapshot();
  });

  it('a huge summary stays within limits and says how many more there are', () => {
    const many = <T,>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
    const summary: InviteSummary = {
      sent: many(5000, (i) => `s${i}@example.com`),
      renewed: [],
      alreadyMember: many(3000, (i) => `member${i}-${'m'.repeat(40)}@example.com`),
      alreadyInvited: many(400, (i) => ({ email: `invited${i}@example.com`, invitationId: `invite_01J${i}` })),
      invalid: many(2000, (i) => ({ entry: `bad\`entry<${i}>` + 'z'.repeat(300), reason: 'not an email address (no @)' })),
      invitationIds: [],
    };
    const message = inviteSummary(summary, '/doorman');
    expect(limitViolations('message', message.blocks)).toEqual([]);
    const text = JSON.stringify(message.blocks);
    expect(text).toMatch(/and 390 more already invited/);
    expect(text).toMatch(/…and [\d,]+ more/);
    expect(message.blocks.filter((b: any) => b.accessory?.action_id?.startsWith('invite_resend'))).toHaveLength(10);
  });

  it('a file\'s review of 10,000 addresses stays within a message\'s limits, its buttons last, naming the import', () => {
    const many = <T,>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
    const review = {
      fresh: many(6000, (i) => `new${i}-${'n'.repeat(60)}@example.com`),
      renew: many(1000, (i) => `old${i}@example.com`),
      alreadyInvited: many(1000, (i) => ({ email: `invited${i}@example.com`, invitationId: `invite_01J${i}` })),
      alreadyAwaiting: many(500, (i) => ({ email: `held${i}@example.com`, invitationId: `invite_01K${i}` })),
      alreadyMember: many(1000, (i) => `member${i}@example.com`),
      invalid: many(500, (i) => ({ entry: `bad\`entry<${i}>` + 'z'.repeat(300), reason: 'not an email address (no @)' })),
      typos: many(200, (i) => ({ email: `new${i}-${'n'.repeat(60)}@example.com`, suggestion: 'x@gmail.com' })),
    };
    const parsed = parseAllowedDomains('corp.test');
    if (!('patterns' in parsed)) throw new Error(parsed.problem);
    const policy = { allowedDomains: parsed.patterns, dailyLimit: 500, unlimitedSlackUserIds: [], slackSettingsKnown: true };
    const message = fileReviewMessage({ id: 'import_01J0', fileName: `${'f'.repeat(300)}.csv`, choices: { role: 'member', expiresInDays: 7, message: 'hi' } }, review, (email) => (email.startsWith('old') ? 'admin' : 'member'), policy);
    expect(limitViolations('message', message.blocks)).toEqual([]);
    expect(blockText(message.blocks)).toBeLessThanOrEqual(MAX_BLOCKS_TEXT);
    const actions = message.blocks.at(-1) as any;
    expect(actions.elements.map((e: any) => [e.action_id, e.value, e.text.text])).toEqual([['import_send', 'import_01J0', 'Send 7,000 invitations'], ['import_cancel', 'import_01J0', 'Cancel']]);
    expect(JSON.stringify(message.blocks)).toMatch(/\*New \(6,000\)\*[^]*…and 5,985 more/);
    expect(JSON.stringify(message.blocks)).toMatch(/waiting for approval before they are emailed \(7,000\)/);
  });

  it('a review names the likely typos first in each group, so one past the rows shown is not hidden', () => {
    const fresh = Array.from({ length: 20 }, (_, i) => (i === 17 ? 'jane@gmial.com' : `person${i}@corp.test`));
    const review = { fresh, renew: [], alreadyInvited: [], alreadyAwaiting: [], alreadyMember: [], invalid: [], typos: [{ email: 'jane@gmial.com', suggestion: 'jane@gmail.com' }] };
    const text = reviewSections(review, () => 'member').map((b: any) => b.text.text).join('\n');
    expect(text).toMatch(/\*New \(20\)\*\n• jane@gmial\.com — did you mean \*jane@gmail\.com\*\?/);
    expect(text).toContain('…and 5 more');
  });

  it('the summary of a big list stays under the total of text Slack takes in a posted message, every list in it', () => {
    const many = <T,>(n: number, f: (i: number) => T): T[] => Array.from({ length: n }, (_, i) => f(i));
    const long = (prefix: string, i: number) => `${prefix}${i}-${'x'.repeat(280)}@example.com`;
    const summary: InviteSummary = {
      sent: many(5, (i) => `s${i}@example.com`),
      renewed: [],
      alreadyMember: many(3000, (i) => long('member', i)),
      alreadyInvited: many(400, (i) => ({ email: long('invited', i), invitationId: `invite_01J${i}` })),
      awaitingApproval: many(500, (i) => ({ email: long('held', i), invitationId: `invite_02J${i}`, reasons: ['admin_role' as const] })),
      alreadyAwaiting: many(500, (i) => ({ email: long('waiting', i), invitationId: `invite_03J${i}` })),
      overLimit: many(500, (i) => long('over', i)),
      invalid: many(2000, (i) => ({ entry: 'z'.repeat(300) + i, reason: 'not an email address (no @)' })),
      invitationIds: [],
    };
    const message = inviteSummary(summary, '/doorman', { total: 5, sent: 1, failing: 1 });
    expect(limitViolations('message', message.blocks)).toEqual([]);
    expect(blockText(message.blocks)).toBeLessThanOrEqual(MAX_BLOCKS_TEXT);
    // Each list still names some of its entries and how many more there are.
    const text = JSON.stringify(message.blocks);
    for (const heading of ['already a member (3,000)', 'already invited (400)', 'already waiting for approval (500)', 'Waiting for approval (500)', "over today's limit (500)", 'Not invited (2,000)']) expect(text).toContain(heading);
    expect(text.match(/…and [\d,]+ more/g)!.length).toBeGreaterThanOrEqual(6);
  });

  it('the invite modal, the view after submitting, the link view and the refusal', () => {
    const modal = inviteModal(7 * 86_400_000);
    expect(inviteModal(90 * 60_000).blocks.find((b: any) => b.block_id === 'expiry')).toMatchObject({ element: { initial_option: { value: 'default', text: { text: 'Default (1 hour and 30 minutes)' } } } });
    expect(limitViolations('modal', modal.blocks, { title: modal.title.text })).toEqual([]);
    expect(modal).toMatchSnapshot();
    const done = invitedView({ sent: ['a@example.com'], renewed: [], alreadyMember: ['m@example.com'], alreadyInvited: [{ email: 'e@example.com', invitationId: 'invite_01JE' }], invalid: [], invitationIds: ['invite_01JA'] }, 3, '/doorman');
    expect(limitViolations('modal', done.blocks, { title: done.title.text })).toEqual([]);
    // Each skipped address named, though its Resend button waits for the DM.
    expect(JSON.stringify(done.blocks)).toContain('e@example.com');
    expect(JSON.stringify(done.blocks)).not.toContain('invite_resend');
    expect(done).toMatchSnapshot();
    const link = linkView('jane@example.com', 'http://doorman.test/invite?token=abc');
    expect(limitViolations('modal', link.blocks, { title: link.title.text })).toEqual([]);
    expect(JSON.stringify(link)).toContain('"type":"plain_text","text":"http://doorman.test/invite?token=abc"');
    expect(limitViolations('modal', refusedView('no').blocks)).toEqual([]);
  });

  it('the help names the configured command, and its buttons open the modal, the table and the members', () => {
    const help = helpMessage('/acme-invites');
    expect(limitViolations('message', help.blocks)).toEqual([]);
    expect(help).toMatchSnapshot();
    expect(JSON.stringify(help.blocks)).not.toContain('/doorman');
    const unknown = helpMessage('/doorman', { typed: 'invitess', closest: closestSubcommand('invitess') });
    expect(JSON.stringify(unknown.blocks)).toContain('Did you mean `/doorman invites`?');
    expect(closestSubcommand('membres')).toBe('members');
    expect(closestSubcommand('invte')).toBe('invite');
    expect(closestSubcommand('frobnicate')).toBeUndefined();
  });

  it('members with role selects and Deactivate (with confirm) for active ones', () => {
    const message = membersList({ members: [member(1, 'admin'), member(2, 'member'), member(3, 'developer', 'deactivated')], total: 40, offset: 15, command: '/doorman', notice: 'Changed.' });
    expect(limitViolations('message', message.blocks)).toEqual([]);
    expect(message).toMatchSnapshot();
    const full = membersList({ members: Array.from({ length: 15 }, (_, i) => ({ ...member(i, 'member'), email: longEmail, firstName: 'f'.repeat(200) })), total: 1000, offset: 15, command: '/doorman' });
    expect(limitViolations('message', full.blocks)).toEqual([]);
  });

  it('App Home', () => {
    const view = homeView({ counts, pending: Array.from({ length: 5 }, (_, i) => invitation(i, 'pending')), expired: [invitation(9, 'expired')], command: '/doorman', notice: 'Done.' });
    expect(limitViolations('home', view.blocks)).toEqual([]);
    expect(view).toMatchSnapshot();
  });

  it('dates are Slack date tokens with a UTC fallback', () => {
    expect(slackDate(T0)).toBe('<!date^1795338000^{date_short_pretty} {time}|2026-11-22 09:00 UTC>');
  });

  it('the limit checker itself catches what Slack would refuse', () => {
    expect(limitViolations('message', Array.from({ length: 51 }, () => ({ type: 'divider' })))).toEqual(['51 blocks (max 50)']);
    expect(limitViolations('modal', [], { title: 'A title that is far too long' })).toHaveLength(1);
    const button = (id: string, text = 'ok') => ({ type: 'button', action_id: id, text: { type: 'plain_text', text }, value: 'v' });
    expect(limitViolations('message', [{ type: 'actions', elements: [button('a'), button('a')] }])).toEqual(['action_id "a" used twice']);
    expect(limitViolations('message', [{ type: 'actions', elements: [button('b', 'x'.repeat(76))] }])).toHaveLength(1);
    // A section's fields take 2,000 characters each, its text 3,000.
    const section = (field: number, text: number) => ({ type: 'section', text: { type: 'mrkdwn', text: 'x'.repeat(text) }, fields: [{ type: 'mrkdwn', text: 'x'.repeat(field) }] });
    expect(limitViolations('message', [section(2000, 3000)])).toEqual([]);
    expect(limitViolations('message', [section(2001, 3000)])).toEqual(['section field text has 2001 characters (max 2000)']);
    expect(limitViolations('message', [section(2000, 3001)])).toEqual(['section text has 3001 characters (max 3000)']);
  });

  it('lists keep to their budget and say how many were left out', () => {
    const out = listWithin(Array.from({ length: 100 }, (_, i) => `item-${i}-${'x'.repeat(20)}`), 300);
    expect(out.length).toBeLessThanOrEqual(300);
    expect(out).toMatch(/…and \d+ more$/);
    expect(listWithin(['a', 'b'], 300)).toBe('a\nb');
  });
});

describe('what the table says about each state', () => {
  const revokeText = (status: Invitation['status']) => {
    const table = invitesTable({ invitations: [invitation(1, status)], total: 1, state: DEFAULT_TABLE, counts });
    return JSON.stringify(table.blocks.flatMap((b) => ('elements' in b ? (b.elements as Array<{ action_id?: string; confirm?: { text: { text: string } } }>) : [])).find((e) => e.action_id?.startsWith('invite_revoke'))?.confirm?.text.text);
  };

  it('the Revoke confirmation says what revoking does in that state', () => {
    expect(revokeText('pending')).toContain('The link sent to person1@example.com stops working at once.');
    expect(revokeText('awaiting_approval')).toContain('nothing was sent, and nothing will be');
    expect(revokeText('awaiting_approval')).not.toContain('link sent');
    expect(revokeText('expired')).toContain('no longer offered a new invitation');
  });

  it('the tally names every status, awaiting approval included, so its parts add up to all', () => {
    const table = invitesTable({ invitations: [], total: 0, state: DEFAULT_TABLE, counts: { pending: 1, expired: 2, accepted: 3, revoked: 4, awaiting_approval: 5, all: 15 } });
    expect(JSON.stringify(table.blocks)).toContain('All invitations: pending 1 · awaiting approval 5 · expired 2 · accepted 3 · revoked 4');
  });
});

describe('names people chose render as plain words', () => {
  it('an invitee\'s name in the members list and the acceptance note neither formats nor links', () => {
    const hostile = '*URGENT* https://evil.example/login <!channel>';
    const list = membersList({ members: [{ ...member(1, 'member'), firstName: hostile, lastName: null }], total: 1, offset: 0, command: '/doorman' });
    const note = acceptedNotice({ email: 'x@corp.test', role: 'member', memberId: 'usr_01JA', memberName: hostile });
    for (const blocks of [list.blocks, note.blocks]) {
      const text = JSON.stringify(blocks);
      expect(text).not.toContain('*URGENT*');
      expect(text).not.toContain('https://evil.example');
      expect(text).not.toContain('<!channel>');
      expect(text.replace(/\\u2060|\u2060/g, '')).toContain('URGENT');
    }
  });
});

describe('button values', () => {
  it('a row carries when it was last sent as drawn; rows drawn before it did still decode', () => {
    const table = { status: 'all' as const, sort: 'created' as const, order: 'desc' as const, offset: 10, search: 'ab.c' };
    const row = { surface: 'table' as const, invitationId: 'invite_01J00000000000000000000000', table, sentAt: 1_797_000_000_123 };
    expect(decodeRow(encodeRow(row))).toEqual(row);
    const notice = { surface: 'notice' as const, invitationId: row.invitationId, table: DEFAULT_TABLE, noticeId: 42, sentAt: 5 };
    expect(decodeRow(encodeRow(notice))).toEqual(notice);
    expect(decodeRow('t.invite_01J00000000000000000000000.all.created.desc.10')).toEqual({ surface: 'table', invitationId: row.invitationId, table: { ...table, search: undefined } });
    expect(decodeRow('n.invite_01J00000000000000000000000.42')).toEqual({ ...notice, sentAt: undefined });
  });

  it('round-trip and refuse anything else', () => {
    const table = { status: 'expired' as const, sort: 'email' as const, order: 'asc' as const, offset: 20 };
    expect(decodeTable(encodeTable(table))).toEqual(table);
    // Where Next starts, with or without a search.
    const cursor = Buffer.from(JSON.stringify({ sort: 'email', order: 'asc', value: `${'x'.repeat(300)}@example.com`, id: 'invite_01J0', position: 20 })).toString('base64url');
    expect(decodeTable(encodeTable({ ...table, cursor }))).toEqual({ ...table, cursor });
    expect(decodeTable(encodeTable({ ...table, search: 'ab', cursor }))).toEqual({ ...table, search: 'ab', cursor });
    const searched = { ...table, search: 'jane.doe@ex ample' };
    expect(decodeTable(encodeTable(searched))).toEqual(searched);
    expect(encodeTable({ ...table, search: 'é'.repeat(60) }).length).toBeLessThanOrEqual(150);
    // What the first page searches is what its buttons carry, whole characters only.
    for (const typed of ['é'.repeat(60), '😀'.repeat(20), `${'a'.repeat(59)}😀`]) {
      const first = clipSearch(typed);
      expect(Buffer.byteLength(first)).toBeLessThanOrEqual(60);
      expect(first).not.toMatch(/\uFFFD/);
      expect(decodeTable(encodeTable({ ...table, search: typed }))?.search).toBe(first);
    }
    expect(clipSearch('é'.repeat(60))).toBe('é'.repeat(30));
    const row = { surface: 'home' as const, invitationId: 'invite_01JABC', table };
    expect(decodeRow(encodeRow(row))).toEqual(row);
    for (const bad of ['', 'x', 't.invite_01J.pending.created.desc.-1', 't.usr_01J.pending.created.desc.0', 'q.invite_01J.pending.created.desc.0', 't.invite_01J.pending.created.up.0', 't.invite_01J.sideways.created.desc.0', 't.invite_01J;drop.pending.created.desc.0', 'x'.repeat(500)]) {
      expect(decodeRow(bad), bad).toBeUndefined();
    }
    expect(decodeTable(undefined)).toBeUndefined();
    expect(decodeMemberRole('usr_01JA.admin.0')).toEqual({ memberId: 'usr_01JA', role: 'admin', offset: 0 });
    expect(decodeMemberRole('usr_01JA.owner.0')).toBeUndefined();
    expect(decodeMember('invite_01JA.0')).toBeUndefined();
    expect(decodeMember('usr_01JA.20')).toEqual({ memberId: 'usr_01JA', offset: 20 });
    expect(decodeMember(encodeMember({ memberId: 'usr_01JA', offset: 20, drawnAt: 1_796_461_200_000 }))).toEqual({ memberId: 'usr_01JA', offset: 20, drawnAt: 1_796_461_200_000 });
    for (const bad of ['usr_01JA.0.', 'usr_01JA.0.ZZ', 'usr_01JA.0.1.2', 'usr_01JA.0.-1']) expect(decodeMember(bad), bad).toBeUndefined();
  });
});

describe('the idempotence rule', () => {
  it('keys a retried request by its trigger id and a double click by user, action and value', () => {
    expect(repeatClaims({ triggerId: 'T1' }).map((c) => c.key)).toEqual(['trigger:T1']);
    const click = repeatClaims({ triggerId: 'T2', click: { userId: 'U1', actionId: 'invite_resend', value: 't.invite_1.pending.created.desc.0' } });
    expect(click.map((c) => c.key)).toEqual(['trigger:T2', 'click:U1:invite_resend:t.invite_1.pending.created.desc.0']);
    expect(click[0]!.windowMs).toBe(24 * 3_600_000);
    expect(click[1]!.windowMs).toBe(10_000);
    expect(repeatClaims({ click: { userId: 'U1', actionId: 'x', value: 'v'.repeat(400) } })[0]!.key.length).toBe(255);
  });
});

describe('an email that did not go out before the link expired', () => {
  it('says so in the table and in the expiry DM; a pending one failing is still "failing", and one delivered says nothing', () => {
    const failing: Invitation = { ...invitation(1, 'pending'), delivery: { state: 'failing', error: '421 busy' } };
    const lost: Invitation = { ...invitation(2, 'expired'), delivery: { state: 'failing', error: '421 busy' } };
    const waited: Invitation = { ...invitation(5, 'expired'), delivery: { state: 'queued', error: null } };
    const delivered = invitation(6, 'expired');
    expect(JSON.stringify(invitationSection(failing))).toContain(':x: Email failing: 421 busy');
    expect(JSON.stringify(invitationSection(lost))).toContain(':x: Its last email did not go out before the link expired: 421 busy');
    expect(JSON.stringify(invitationSection(waited))).toContain(':x: Its last email did not go out before the link expired\"');
    expect(JSON.stringify(invitationSection(delivered))).not.toContain(':x:');
    // Nothing wrong: the status says where its email is.
    expect(JSON.stringify(invitationSection(delivered))).toContain(':warning: Expired · email sent');
    expect(JSON.stringify(invitationSection({ ...invitation(7, 'pending'), delivery: { state: 'queued', error: null } }))).toContain(':hourglass_flowing_sand: Pending · email queued');
    expect(JSON.stringify(invitationSection({ ...invitation(8, 'accepted') }))).toContain('"text":":white_check_mark: Accepted"');
    const dm = listNotice({ noticeId: 1, kind: 'expired', invitations: [lost, waited, delivered], total: 3, still: 3 });
    expect(limitViolations('message', dm.blocks)).toEqual([]);
    expect(JSON.stringify(dm.blocks).match(/did not go out before the link expired/g)).toHaveLength(2);
  });
});

describe('a list notice redrawn after some of its invitations changed', () => {
  it('says how many are still as it tells, never more', () => {
    const headline = (kind: 'expired' | 'reminder', still: number) => (listNotice({ noticeId: 1, kind, invitations: [invitation(1, kind === 'expired' ? 'expired' : 'pending')], total: 3, still }).blocks[0] as any).text.text as string;
    expect(headline('expired', 3)).toBe(':warning: *3 invitations expired* and can no longer be accepted.');
    expect(headline('expired', 1)).toBe(':warning: *3 invitations expired*; 1 of them is still expired.');
    expect(headline('expired', 0)).toBe(':warning: *3 invitations expired*; none is expired any more.');
    expect(headline('reminder', 3)).toBe(':hourglass_flowing_sand: *3 invitations will expire soon* and have not been accepted yet.');
    // No longer due for whatever reason: accepted, revoked, resent (a new expiry), or expired while the reminder waited.
    expect(headline('reminder', 2)).toBe(':hourglass_flowing_sand: *3 invitations were about to expire*; 2 of them are still due to expire.');
    expect(headline('reminder', 1)).toBe(':hourglass_flowing_sand: *3 invitations were about to expire*; 1 of them is still due to expire.');
    expect(headline('reminder', 0)).toBe(':hourglass_flowing_sand: *3 invitations were about to expire*; none is still due to expire.');
    const one = (listNotice({ noticeId: 1, kind: 'reminder', invitations: [invitation(1, 'expired')], total: 1, still: 0 }).blocks[0] as any).text.text;
    expect(one).toBe(':hourglass_flowing_sand: *1 invitation was about to expire*; it is no longer due to expire.');
  });
});
