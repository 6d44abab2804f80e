import { lastEmailLost, type Invitation, type InviteSummary, type ShownStatus } from '../invites/model.js';
import type { ListPage } from '../invites/list.js';
import type { Member } from '../members/service.js';
import { APPROVAL_REASON_WORDS } from '../invites/policy.js';

/** How the operator CLI prints what the services answer. */

/** A moment's key in what the services answer: createdAt, expiresAt…, and a report period's bounds. */
const MOMENT_KEY = /At$|^(previousStart|start|end)$/;

/**
 * What `--json` prints: the services' answer with its moments (milliseconds since the epoch
 * inside) as ISO 8601 in UTC, as the admin API writes them and as people and `jq` read them.
 */
export function jsonText(value: unknown): string {
  return JSON.stringify(value, (key, v: unknown) => (typeof v === 'number' && MOMENT_KEY.test(key) ? new Date(v).toISOString() : v), 2);
}

export function formatDate(ms: number): string {
  return new Date(ms).toISOString().slice(0, 16).replace('T', ' ') + ' UTC';
}

export function formatSummary(summary: InviteSummary): string {
  const lines: string[] = [];
  const sentCount = summary.sent.length + summary.renewed.length;
  lines.push(`${sentCount} invitation${sentCount === 1 ? '' : 's'} sent.`);
  for (const email of summary.renewed) lines.push(`  ${email}: the earlier invitation had expired; sent a new one with a new link`);
  for (const email of summary.alreadyMember) lines.push(`  ${email}: skipped, already a member`);
  for (const { email, invitationId } of summary.alreadyInvited) lines.push(`  ${email}: skipped, already invited (doorman resend ${invitationId})`);
  for (const { email, invitationId } of summary.alreadyAwaiting ?? []) lines.push(`  ${email}: skipped, already waiting for approval (doorman approve ${invitationId})`);
  for (const { email, reasons } of summary.awaitingApproval ?? []) lines.push(`  ${email}: waiting for approval, ${reasons.map((r) => APPROVAL_REASON_WORDS[r]).join('; ')}`);
  for (const email of summary.overLimit ?? []) lines.push(`  ${email}: not sent, over today's limit`);
  for (const { entry, reason } of summary.invalid) lines.push(`  ${entry}: not sent, ${reason}`);
  return lines.join('\n');
}

export function table(headers: string[], rows: string[][]): string {
  const widths = headers.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]) => cells.map((c, i) => c.padEnd(widths[i]!)).join('  ').trimEnd();
  return [line(headers), line(widths.map((w) => '-'.repeat(w))), ...rows.map(line)].join('\n');
}

const STATUS_WORDS: Record<ShownStatus, string> = { pending: 'Pending', expired: 'Expired', accepted: 'Accepted', revoked: 'Revoked', awaiting_approval: 'Awaiting approval' };

/** A word as a shell reads it back: as it is when plain, otherwise in single quotes. */
export function shellWord(word: string): string {
  return /^[\w@.+:=/-]+$/.test(word) ? word : `'${word.replace(/'/g, `'\\''`)}'`;
}

/** `next`: the command that lists the page after this one, given its cursor. */
export function formatInvitations(page: ListPage, next: (cursor: string) => string): string {
  if (page.invitations.length === 0) return 'No invitations.';
  const rows = page.invitations.map((i) => [
    i.id,
    i.email,
    STATUS_WORDS[i.status]!,
    i.role,
    formatDate(i.createdAt),
    formatDate(i.expiresAt),
    deliveryWords(i),
  ]);
  const shown = `${page.offset + 1}–${page.offset + page.invitations.length} of ${page.total}`;
  const more = page.nextCursor ? `\nMore: ${next(page.nextCursor)}` : '';
  return `${table(['ID', 'EMAIL', 'STATUS', 'ROLE', 'INVITED', 'EXPIRES', 'EMAIL DELIVERY'], rows)}\n${shown}${more}`;
}

/** An open invitation's email delivery, as the table's last column. */
function deliveryWords(i: Invitation): string {
  if (i.status !== 'pending' && i.status !== 'expired') return '';
  const { state, error } = i.delivery;
  if (lastEmailLost(i)) return `not sent before it expired${error ? `: ${error}` : ''}`.slice(0, 60);
  return state === 'failing' || state === 'refused' ? `${state}: ${error ?? ''}`.slice(0, 60) : state;
}

/** `next`: the command that lists the page after this one, given its offset. */
export function formatMembers(page: { members: Member[]; total: number }, offset: number, next: (offset: number) => string): string {
  if (page.members.length === 0) return page.total === 0 ? 'No members.' : `No members past ${offset} (${page.total} in all).`;
  const rows = table(
    ['ID', 'EMAIL', 'NAME', 'ROLE', 'STATE'],
    page.members.map((m) => [m.id, m.email, [m.firstName, m.lastName].filter(Boolean).join(' '), m.role, m.state]),
  );
  const end = offset + page.members.length;
  const more = end < page.total ? `\nMore: ${next(end)}` : '';
  return `${rows}\n${offset + 1}–${end} of ${page.total}${more}`;
}
