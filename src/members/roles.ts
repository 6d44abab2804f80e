export const ROLES = ['admin', 'member', 'developer'] as const;
export type Role = (typeof ROLES)[number];

/** `invite:approve`: may approve or deny invitations held by the rule "Policy". */
export type Permission = 'member:manage' | 'invite:approve';

const PERMISSIONS: Record<Role, readonly Permission[]> = {
  admin: ['member:manage', 'invite:approve'],
  member: [],
  developer: [],
};

export function isRole(value: unknown): value is Role {
  return typeof value === 'string' && (ROLES as readonly string[]).includes(value);
}

export function roleHas(role: Role, permission: Permission): boolean {
  return PERMISSIONS[role].includes(permission);
}

export const ROLE_LABELS: Record<Role, string> = { admin: 'Admin', member: 'Member', developer: 'Developer' };
