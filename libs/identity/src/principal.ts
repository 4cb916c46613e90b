import type { Role } from '#domain';

/** Who is calling: a member with a user access token, or an API key. Both are bound to one workspace. */
export interface Principal {
  kind: 'user' | 'api_key';
  workspaceId: string;
  /** The member acting (for API keys, the member who created the key, when still present). */
  memberId: string | null;
  userId: string | null;
  apiKeyId: string | null;
  /** API keys act with admin rights: they manage integrations, never the workspace's owners. */
  role: Role;
}
