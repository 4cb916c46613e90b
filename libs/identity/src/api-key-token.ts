import { createHash, randomBytes } from 'node:crypto';
import { isUuid } from '#domain';

const PREFIX = 'fry_';
const WORKSPACE_CHARS = 22; // base64url of the 16 bytes of a UUID
const SECRET_BYTES = 32;

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
  const workspace = Buffer.from(workspaceId.replace(/-/g, ''), 'hex').toString('base64url');
  const key = `${PREFIX}${workspace}${randomBytes(SECRET_BYTES).toString('base64url')}`;
  return { key, prefix: key.slice(0, PREFIX.length + WORKSPACE_CHARS + 4), hash: hashToken(key) };
}

/** The workspace and hash of a well-formed key, or null for anything else. */
export function parseApiKey(key: string): { workspaceId: string; hash: string } | null {
  if (!key.startsWith(PREFIX) || key.length !== PREFIX.length + WORKSPACE_CHARS + 43) return null;
  const hex = Buffer.from(key.slice(PREFIX.length, PREFIX.length + WORKSPACE_CHARS), 'base64url').toString('hex');
  const workspaceId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  return isUuid(workspaceId) ? { workspaceId, hash: hashToken(key) } : null;
}

export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}
