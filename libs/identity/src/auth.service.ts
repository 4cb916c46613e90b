import { Injectable } from '@nestjs/common';
import { DomainError, type Role } from '#domain';
import { TenantDb } from '#database';
import type { Principal } from './principal.js';
import { parseApiKey } from './tokens/api-key-token.js';
import { AccessTokenService } from './tokens/access-token.js';
import { ApiKeysRepository } from './api-keys/api-keys.repository.js';
import { ApiKeyCache } from './api-keys/api-key-cache.js';
import { UsersRepository } from './accounts/users.repository.js';
import { WorkspacesRepository } from './accounts/workspaces.repository.js';
import { MembersRepository } from './members/members.repository.js';
import type { MemberRef, UserView, WorkspaceView } from './sessions/session-tokens.service.js';

/** GET /v1/me for a user: who, where, as what, and where else they can switch to. */
export interface UserMe {
  user: UserView;
  workspace: WorkspaceView;
  member: MemberRef;
  workspaces: Array<{ id: string; name: string; role: Role }>;
}

/** GET /v1/me for an API key. */
export interface ApiKeyMe {
  apiKey: { id: string; name: string };
  workspace: WorkspaceView;
}

const invalidToken = (): DomainError => DomainError.unauthenticated('auth.invalid_token', 'The token is not valid');

@Injectable()
export class AuthService {
  constructor(
    private readonly db: TenantDb,
    private readonly apiKeys: ApiKeysRepository,
    private readonly accessTokens: AccessTokenService,
    private readonly users: UsersRepository,
    private readonly members: MembersRepository,
    private readonly workspaces: WorkspacesRepository,
    private readonly apiKeyCache: ApiKeyCache,
  ) {}

  /**
   * Resolves a bearer token (user access token or `fry_` API key) to its principal. Access tokens
   * are checked without the database: they live minutes, and refresh re-checks the membership.
   */
  async authenticate(token: string): Promise<Principal> {
    if (token.startsWith('fry_')) return this.authenticateApiKey(token);
    const claims = this.accessTokens.verify(token);
    return { kind: 'user', workspaceId: claims.wid, memberId: claims.mid, userId: claims.sub, apiKeyId: null, role: claims.role };
  }

  /**
   * A user access token only, never an API key (the live stream is for members signed in): its
   * principal, and when the token expires, so a long-lived connection can end with it.
   */
  authenticateAccessToken(token: string): { principal: Principal; expiresAt: Date } {
    if (token.startsWith('fry_')) throw DomainError.unauthenticated('auth.access_token_required', 'Use a user access token, not an API key');
    const claims = this.accessTokens.verify(token);
    return {
      principal: { kind: 'user', workspaceId: claims.wid, memberId: claims.mid, userId: claims.sub, apiKeyId: null, role: claims.role },
      expiresAt: new Date(claims.exp * 1000),
    };
  }

  async me(caller: Principal): Promise<UserMe | ApiKeyMe> {
    if (caller.kind === 'api_key' && caller.apiKeyId) return this.apiKeyMe(caller.workspaceId, caller.apiKeyId);
    if (!caller.userId) throw invalidToken();
    const userId = caller.userId;
    return this.db.asUser(userId, async (tx) => {
      const user = await this.users.findById(tx, userId);
      const memberships = await this.members.listMembershipsOfUser(tx);
      const current = memberships.find((membership) => membership.workspaceId === caller.workspaceId);
      // Removed since the token was issued: the token outlives the membership by minutes at most.
      if (!user || !current) throw invalidToken();
      return {
        user: { id: user.id, name: user.name, email: user.email },
        workspace: { id: current.workspaceId, name: current.workspaceName },
        member: { id: current.memberId, role: current.role },
        workspaces: memberships.map((m) => ({ id: m.workspaceId, name: m.workspaceName, role: m.role })),
      };
    });
  }

  private async apiKeyMe(workspaceId: string, apiKeyId: string): Promise<ApiKeyMe> {
    return this.db.run(workspaceId, async (tx) => {
      const workspace = await this.workspaces.findCurrent(tx);
      const key = await this.apiKeys.findActiveById(tx, apiKeyId);
      if (!workspace || !key) throw invalidToken();
      return { apiKey: { id: key.id, name: key.name }, workspace: { id: workspace.id, name: workspace.name } };
    });
  }

  private async authenticateApiKey(key: string): Promise<Principal> {
    const parsed = parseApiKey(key);
    if (!parsed) throw DomainError.unauthenticated('auth.invalid_api_key', 'The API key is not valid');
    const cached = this.apiKeyCache.get(parsed.hash);
    if (cached) return cached;
    const found = await this.db.run(parsed.workspaceId, async (tx) => {
      const row = await this.apiKeys.findActiveByHash(tx, parsed.hash);
      if (row) await this.apiKeys.touchLastUsed(tx, row.id);
      return row;
    });
    if (!found) throw DomainError.unauthenticated('auth.invalid_api_key', 'The API key is not valid or was revoked');
    const principal: Principal = {
      kind: 'api_key',
      workspaceId: found.workspaceId,
      memberId: found.createdBy,
      userId: null,
      apiKeyId: found.id,
      role: 'admin',
    };
    this.apiKeyCache.set(parsed.hash, principal);
    return principal;
  }
}
