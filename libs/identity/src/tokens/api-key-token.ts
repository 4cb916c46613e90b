import { createHash, randomBytes } from 'node:crypto';
import { isUuid } from '#domain';

const API_KEY_PREFIX = 'fry_';
const INVITATION_PREFIX = 'fri_';
const WORKSPACE_CHARS = 22; // base64url of the 16 bytes of a UUID
const SECRET_BYTES = 32;
const SECRET_CHARS = 43; // base64url of SECRET_BYTES

export interface MintedApiKey {
  /** The whole key: shown once, never stored. */
  key: string;
  /** The first characters, stored so a list can show which key is which. */
  prefix: string;
  /** SHA-256 of the key: what is stored and looked up. */
  hash: string;
}

/**
 * API keys carry their workspace id in the clear after `fry_`, so a lookup can set the workspace
 * (row-level security) before it reads the key's row; the secret part is 256 random bits.
 */
export function mintApiKey(workspaceId: string): MintedApiKey {
  const key = mintWorkspaceToken(API_KEY_PREFIX, workspaceId);
  return { key, prefix: key.slice(0, API_KEY_PREFIX.length + WORKSPACE_CHARS + 4), hash: hashToken(key) };
}

/** The workspace and hash of a well-formed key, or null for anything else. */
export function parseApiKey(key: string): { workspaceId: string; hash: string } | null {
  return parseWorkspaceToken(API_KEY_PREFIX, key);
}

/** Invitation tokens (`fri_`) have the API key's shape for the same reason: acceptance is public. */
export function mintInvitationToken(workspaceId: string): { token: string; hash: string } {
  const token = mintWorkspaceToken(INVITATION_PREFIX, workspaceId);
  return { token, hash: hashToken(token) };
}

export function parseInvitationToken(token: string): { workspaceId: string; hash: string } | null {
  return parseWorkspaceToken(INVITATION_PREFIX, token);
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

function mintWorkspaceToken(prefix: string, workspaceId: string): string {
  const workspace = Buffer.from(workspaceId.replace(/-/g, ''), 'hex').toString('base64url');
  return `${prefix}${workspace}${randomBytes(SECRET_BYTES).toString('base64url')}`;
}

function parseWorkspaceToken(prefix: string, token: string): { workspaceId: string; hash: string } | null {
  if (!token.startsWith(prefix) || token.length !== prefix.length + WORKSPACE_CHARS + SECRET_CHARS) return null;
  if (!/^[\w-]+$/.test(token.slice(prefix.length))) return null;
  const hex = Buffer.from(token.slice(prefix.length, prefix.length + WORKSPACE_CHARS), 'base64url').toString('hex');
  const workspaceId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return isUuid(workspaceId) ? { workspaceId, hash: hashToken(token) } : null;
}
