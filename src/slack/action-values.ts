import { z } from 'zod';
import { APPROVAL_REQUEST_ID } from '../invites/approvals.js';
import type { SortKey, StatusFilter } from '../invites/list.js';
import { ROLES, type Role } from '../members/roles.js';
import { isIdOf } from '../shared/ids.js';

/**
 * What Doorman's buttons and selects carry, in compact strings. Values come back from Slack in
 * requests anyone could forge, so each one is parsed strictly here and the domain re-checks state.
 */

export const TABLE_STATUSES = ['pending', 'expired', 'awaiting_approval', 'accepted', 'revoked', 'all'] as const satisfies readonly StatusFilter[];
export const SORT_KEYS = ['email', 'status', 'created', 'expires'] as const satisfies readonly SortKey[];
export const PAGE_SIZE = 10;
export const MEMBERS_PAGE_SIZE = 15;

/** The view of the invitations table a message shows: filter, sort, page and search. */
export interface TableState {
  status: (typeof TABLE_STATUSES)[number];
  sort: SortKey;
  order: 'asc' | 'desc';
  offset: number;
  /** A fragment of the email address (from `invites [status] [search]`). */
  search?: string;
  /**
   * Where the page starts, as the list's own cursor (the row before it, for a column sort): Next
   * after rows were added or removed above shows the rows that follow, none twice and none missed.
   * Without one (the first page, Prev), the page starts at `offset`.
   */
  cursor?: string;
}

export const DEFAULT_TABLE: TableState = { status: 'pending', sort: 'created', order: 'desc', offset: 0 };
/** Search text carried in buttons and select options, in UTF-8 bytes (an option's value holds at most 150 characters). */
export const MAX_TABLE_SEARCH = 60;

/** A table's search as its buttons can carry it, whole characters only: the first page searches the same text. */
export function clipSearch(text: string): string {
  const chars = [...text].slice(0, MAX_TABLE_SEARCH);
  while (Buffer.byteLength(chars.join('')) > MAX_TABLE_SEARCH) chars.pop();
  return chars.join('');
}

/** Where a row button sits: the table message, App Home, an invite summary, or a notice DM. */
export type Surface = 'table' | 'home' | 'summary' | 'notice';
const SURFACE_CODES: Record<Surface, string> = { table: 't', home: 'h', summary: 's', notice: 'n' };

const offset = z.coerce.number().int().min(0).max(1_000_000);
const invitationId = z.string().refine((id) => isIdOf('invite', id));
const memberId = z.string().refine((id) => isIdOf('usr', id));
const search = z
  .string()
  .regex(/^[A-Za-z0-9_-]{0,100}$/)
  .transform((b64) => Buffer.from(b64, 'base64url').toString('utf8'))
  .refine((text) => text.length <= MAX_TABLE_SEARCH);
const cursor = z.string().regex(/^[A-Za-z0-9_-]{1,1200}$/);
const tableState = z.union([
  z.tuple([z.enum(TABLE_STATUSES), z.enum(SORT_KEYS), z.enum(['asc', 'desc']), offset]),
  z.tuple([z.enum(TABLE_STATUSES), z.enum(SORT_KEYS), z.enum(['asc', 'desc']), offset, search]),
  z.tuple([z.enum(TABLE_STATUSES), z.enum(SORT_KEYS), z.enum(['asc', 'desc']), offset, search, cursor]),
]);
/** The longest table state a button carries: a cursor holds the last row's email (up to 320 characters) in base64. */
const MAX_TABLE_VALUE = 1_400;

/** The table's state as a button or option value; a select option (at most 150 characters) carries no cursor. */
export function encodeTable(state: TableState): string {
  const base = `${state.status}.${state.sort}.${state.order}.${state.offset}`;
  const text = state.search ? Buffer.from(clipSearch(state.search), 'utf8').toString('base64url') : '';
  if (state.cursor) return `${base}.${text}.${state.cursor}`;
  return text ? `${base}.${text}` : base;
}

export function decodeTable(value: unknown): TableState | undefined {
  if (typeof value !== 'string' || value.length > MAX_TABLE_VALUE) return undefined;
  const parsed = tableState.safeParse(value.split('.'));
  if (!parsed.success) return undefined;
  const [status, sort, order, at, text, from] = parsed.data;
  return { status, sort, order, offset: at, ...(text ? { search: text } : {}), ...(from ? { cursor: from } : {}) };
}

export interface RowValue {
  surface: Surface;
  invitationId: string;
  table: TableState;
  /** On a notice DM: the notice (its outbox id), so the DM can be drawn again after a click. */
  noticeId?: number;
  /**
   * When the invitation was last sent as the row was drawn: a Revoke from a row drawn before someone
   * sent it again (a new invitation to an expired one) is refused rather than revoke what they sent.
   */
  sentAt?: number;
}

const noticeId = z.coerce.number().int().min(1).max(Number.MAX_SAFE_INTEGER);

/** A moment (ms) in a value, in base 36 to keep values short; undefined for text that is not one. */
const moment36 = (ms: number) => ms.toString(36);
const fromMoment36 = (text: string | undefined) => (text !== undefined && /^[0-9a-z]{1,12}$/.test(text) ? parseInt(text, 36) : undefined);

export function encodeRow(value: RowValue): string {
  const head = `${SURFACE_CODES[value.surface]}.${value.invitationId}${value.sentAt === undefined ? '' : `.v${moment36(value.sentAt)}`}`;
  if (value.surface === 'notice') return `${head}.${value.noticeId}`;
  return `${head}.${encodeTable(value.table)}`;
}

export function decodeRow(value: unknown): RowValue | undefined {
  if (typeof value !== 'string' || value.length > MAX_TABLE_VALUE + 100) return undefined;
  const [code, id, ...parts] = value.split('.');
  const surface = (Object.keys(SURFACE_CODES) as Surface[]).find((s) => SURFACE_CODES[s] === code);
  if (!surface || !invitationId.safeParse(id).success) return undefined;
  // The row's `sentAt` follows the id as `v` and the moment (no table status starts with v); rows drawn before it was carried have none.
  const sent = parts[0]?.startsWith('v') ? fromMoment36(parts[0].slice(1)) : undefined;
  const rest = sent === undefined ? parts : parts.slice(1);
  const sentAt = sent === undefined ? {} : { sentAt: sent };
  if (surface === 'notice') {
    const parsed = noticeId.safeParse(rest.length === 1 && /^\d+$/.test(rest[0]!) ? rest[0] : undefined);
    return parsed.success ? { surface, invitationId: id!, table: DEFAULT_TABLE, noticeId: parsed.data, ...sentAt } : undefined;
  }
  const table = decodeTable(rest.join('.'));
  if (!table) return undefined;
  return { surface, invitationId: id!, table, ...sentAt };
}

export interface MemberRoleValue {
  memberId: string;
  role: Role;
  offset: number;
}

export function encodeMemberRole(value: MemberRoleValue): string {
  return `${value.memberId}.${value.role}.${value.offset}`;
}

export function decodeMemberRole(value: unknown): MemberRoleValue | undefined {
  if (typeof value !== 'string' || value.length > 100) return undefined;
  const parsed = z.tuple([memberId, z.enum(ROLES), offset]).safeParse(value.split('.'));
  return parsed.success ? { memberId: parsed.data[0], role: parsed.data[1], offset: parsed.data[2] } : undefined;
}

export interface MemberValue {
  memberId: string;
  offset: number;
  /** When the list was drawn (base 36 in the value); lists drawn before it was carried have none. */
  drawnAt?: number;
}

export function encodeMember(value: MemberValue): string {
  return `${value.memberId}.${value.offset}${value.drawnAt === undefined ? '' : `.${moment36(value.drawnAt)}`}`;
}

export function decodeMember(value: unknown): MemberValue | undefined {
  if (typeof value !== 'string' || value.length > 100) return undefined;
  const [id, at, drawn, ...rest] = value.split('.');
  const parsed = z.tuple([memberId, offset]).safeParse([id, at]);
  const drawnAt = fromMoment36(drawn);
  if (!parsed.success || rest.length || (drawn !== undefined && drawnAt === undefined)) return undefined;
  return { memberId: parsed.data[0], offset: parsed.data[1], ...(drawnAt === undefined ? {} : { drawnAt }) };
}

export function decodeOffset(value: unknown): number | undefined {
  const parsed = offset.safeParse(value);
  return typeof value === 'string' && parsed.success ? parsed.data : undefined;
}

/** Row, page and select action ids carry a position suffix so each is unique in its message. */
export function baseActionId(actionId: string): string {
  return actionId.replace(/_\d+$/, '');
}

export const ACTIONS = {
  resend: 'invite_resend',
  copyLink: 'invite_copy_link',
  revoke: 'invite_revoke',
  renew: 'send_new_invitation',
  tableFilter: 'invites_filter',
  tableSort: 'invites_sort',
  tablePage: 'invites_page',
  memberRole: 'member_role',
  memberDeactivate: 'member_deactivate',
  membersPage: 'members_page',
  openInviteModal: 'open_invite_modal',
  showInvitations: 'show_invitations',
  showMembers: 'show_members',
  noticeRenewAll: 'notice_send_new_all',
  noticeShowList: 'notice_show_list',
  reviewBack: 'review_back',
  noticeDismiss: 'notice_dismiss',
  approve: 'approval_approve',
  deny: 'approval_deny',
  importSend: 'import_send',
  importCancel: 'import_cancel',
} as const;

/** A file's import, named by the buttons of its review: checked for an import id's shape. */
export function decodeImportId(value: unknown): string | undefined {
  return isIdOf('import', value) ? value : undefined;
}

/**
 * What Approve and Deny decide: one held invitation (`a.<invitation id>.<heldUpTo>`: the hold made at
 * that moment, not a later one), or the invitations of an approval request still waiting that the
 * message showed (`r.<request id>.<heldUpTo>`: held up to that moment, so a part added after the
 * message was drawn is not decided unseen). Messages drawn before carry no moment. Parsed strictly,
 * and the domain re-checks everything (who may approve, the two-person rule, what still waits), so a
 * forged value decides nothing.
 */
export type ApprovalTarget = { kind: 'invitation' | 'request'; id: string; heldUpTo?: number };

export function encodeApproval(target: ApprovalTarget): string {
  return `${target.kind === 'invitation' ? 'a' : 'r'}.${target.id}${target.heldUpTo === undefined ? '' : `.${target.heldUpTo}`}`;
}

export function decodeApproval(value: unknown): ApprovalTarget | undefined {
  if (typeof value !== 'string' || value.length > 60) return undefined;
  const kind = value.startsWith('a.') ? 'invitation' : value.startsWith('r.') ? 'request' : undefined;
  if (!kind) return undefined;
  const [id, heldUpTo, ...rest] = value.slice(2).split('.');
  const known = kind === 'invitation' ? invitationId.safeParse(id).success : APPROVAL_REQUEST_ID.test(id!);
  if (rest.length || !known || (heldUpTo !== undefined && !/^\d{1,15}$/.test(heldUpTo))) return undefined;
  return heldUpTo === undefined ? { kind, id: id! } : { kind, id: id!, heldUpTo: Number(heldUpTo) };
}

/** The modal that asks an approver why they deny a request. */
export const DENY_MODAL = 'approval_deny_modal';
export const DENY_BLOCKS = { reason: 'deny_reason' } as const;
export const DENY_INPUTS = { reason: 'deny_reason_input' } as const;

/** The action ids Bolt routes on: the id itself, or the id with its position suffix. */
export function actionIdPattern(base: string): RegExp {
  return new RegExp(`^${base}(_\\d+)?$`);
}

/** A notice's own buttons carry only the notice's id. */
export function decodeNoticeId(value: unknown): number | undefined {
  if (typeof value !== 'string' || !/^\d{1,15}$/.test(value)) return undefined;
  const parsed = noticeId.safeParse(value);
  return parsed.success ? parsed.data : undefined;
}

export const INVITE_MODAL = 'invite_modal';
export const MODAL_BLOCKS = { emails: 'emails', users: 'users', file: 'file', role: 'role', expiry: 'expiry', message: 'message' } as const;
export const MODAL_INPUTS = { emails: 'emails_input', users: 'users_input', file: 'file_input', role: 'role_input', expiry: 'expiry_input', message: 'message_input' } as const;
/** The review of a submitted list, before anything is sent. */
export const INVITE_REVIEW = 'invite_review';
export const REVIEW_BLOCKS = { resend: 'resend_invited' } as const;
export const REVIEW_INPUTS = { resend: 'resend_invited_input' } as const;
