import type { Role } from './enums.js';

/**
 * What each role may do. Owners can do everything; admins manage the workspace but not its owners;
 * agents work conversations. Add a permission here and grant it to the roles that imply it.
 */
export const PERMISSIONS = [
  'workspace.manage',
  'members.manage',
  'api_keys.manage',
  'inboxes.manage',
  'settings.manage',
  'webhooks.manage',
  'conversations.work',
  'billing.manage',
] as const;
export type Permission = (typeof PERMISSIONS)[number];

const GRANTS: Record<Role, readonly Permission[]> = {
  owner: PERMISSIONS,
  admin: ['members.manage', 'api_keys.manage', 'inboxes.manage', 'settings.manage', 'webhooks.manage', 'conversations.work', 'billing.manage'],
  agent: ['conversations.work'],
};

export function can(role: Role, permission: Permission): boolean {
  return GRANTS[role].includes(permission);
}

/** An admin may not change or remove an owner, nor make someone an owner. */
export function canManageRole(actor: Role, target: Role): boolean {
  if (actor === 'owner') return true;
  return actor === 'admin' && target !== 'owner';
}
