import { normalizeEmail } from '../invites/email-list.js';
import { MAX_NAME_CHARS, type Actor } from '../shared/actor.js';
import { InvalidInput } from '../shared/errors.js';
import { isRole, roleHas, type Permission, type Role } from './roles.js';

export type MemberState = 'active' | 'deactivated';

export interface Member {
  id: string;
  email: string;
  firstName: string | null;
  lastName: string | null;
  role: Role;
  state: MemberState;
  slackUserId: string | null;
  hasApiToken: boolean;
  /** Sessions signed with an older number are over (sign-out ends them all). */
  sessionVersion: number;
  createdAt: number;
  updatedAt: number;
}

export interface MemberRow {
  id: string;
  email: string;
  first_name: string | null;
  last_name: string | null;
  password_hash: string | null;
  role: Role;
  state: MemberState;
  api_token_hash: string | null;
  slack_user_id: string | null;
  created_at: number;
  updated_at: number;
  deactivated_at: number | null;
  session_version?: number;
}

export function toMember(row: MemberRow): Member {
  return {
    id: row.id,
    email: row.email,
    firstName: row.first_name,
    lastName: row.last_name,
    role: row.role,
    state: row.state,
    slackUserId: row.slack_user_id,
    hasApiToken: row.api_token_hash !== null,
    sessionVersion: Number(row.session_version ?? 0),
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}

export function displayName(member: Pick<Member, 'firstName' | 'lastName' | 'email'>): string {
  const name = [member.firstName, member.lastName].filter(Boolean).join(' ').trim();
  return name || member.email;
}

/** A member as the one who made a change (audit, events): their name, or their email when they gave none. */
export function memberActor(member: Pick<Member, 'id' | 'firstName' | 'lastName' | 'email'>): Actor {
  return { type: 'member', memberId: member.id, name: displayName(member) };
}

export function can(member: Pick<Member, 'role' | 'state'> | undefined, permission: Permission): boolean {
  return !!member && member.state === 'active' && roleHas(member.role, permission);
}

export function requireEmail(value: unknown, field = 'email'): string {
  const result = normalizeEmail(typeof value === 'string' ? value : '');
  if ('reason' in result) throw new InvalidInput(`${String(value)}: ${result.reason}`, field, [String(value)]);
  return result.email;
}

export function requireRole(value: unknown): Role {
  if (!isRole(value)) throw new InvalidInput(`Role must be admin, member or developer, not "${String(value)}".`, 'role');
  return value;
}

/**
 * Control characters left once whitespace is folded (NUL, escapes…): no name holds them, and
 * PostgreSQL refuses NUL. Bidirectional overrides and isolates count too: shown beside an address
 * (the members list, an acceptance note) they reverse what follows them and can make it read as
 * another address. Joiners (ZWJ, ZWNJ), which names in some scripts need, are kept.
 */
export function hasControlCharacters(text: string): boolean {
  return /[\p{Cc}\u202A-\u202E\u2066-\u2069]/u.test(text.replace(/\s+/g, ' '));
}

/** A name as it is stored: one Unicode form (NFC), so the same name typed on two systems is stored, compared and shown alike; spacing folded. */
function foldName(value: string): string {
  return value.normalize('NFC').trim().replace(/\s+/g, ' ');
}

export type NameProblem = 'missing' | 'control_characters' | 'too_long';

/** What is wrong with a name as given, if anything; each door says it in its own words. */
export function nameProblem(value: string): NameProblem | undefined {
  const name = foldName(value);
  if (!name) return 'missing';
  if (hasControlCharacters(name)) return 'control_characters';
  return name.length > MAX_NAME_CHARS ? 'too_long' : undefined;
}

export function cleanName(value: unknown, field: string): string | null {
  if (value === undefined || value === null) return null;
  if (typeof value !== 'string') throw new InvalidInput(`${field} must be text.`, field);
  const problem = nameProblem(value);
  if (problem === 'control_characters') throw new InvalidInput(`${field} must not contain control characters.`, field);
  if (problem === 'too_long') throw new InvalidInput(`${field} must be at most ${MAX_NAME_CHARS} characters.`, field);
  return foldName(value) || null;
}

/** A name that must be given (the rule "Accept": first and last name), trimmed as cleanName trims it. */
export function requiredName(value: unknown, field: string): string {
  const name = cleanName(value, field);
  if (!name) throw new InvalidInput(`${field} is required.`, field);
  return name;
}
