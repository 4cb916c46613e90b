import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { DomainError, uuidv7, type Role } from '#domain';
import { TenantDb } from '#database';
import { type AnyTx, UsersRepository } from '../accounts/users.repository.js';
import { MembersRepository } from '../members/members.repository.js';
import { AccessTokenService } from '../tokens/access-token.js';
import { hashRefreshToken, mintRefreshToken } from '../tokens/refresh-token.js';
import { RefreshTokensRepository } from './refresh-tokens.repository.js';

export interface UserView {
  id: string;
  name: string;
  email: string;
}

export interface WorkspaceView {
  id: string;
  name: string;
}

export interface MemberRef {
  id: string;
  role: Role;
}

/** Who a session is for: one user, as one member of one workspace. */
export interface SessionSubject {
  user: UserView;
  workspace: WorkspaceView;
  member: MemberRef;
}

/** What sign-up, login, refresh, switch and invitation acceptance answer. */
export interface Session extends SessionSubject {
  accessToken: string;
  refreshToken: string;
  /** Lifetime of the access token, in seconds. */
  expiresIn: number;
}

export function subjectOf(
  user: { id: string; name: string; email: string },
  workspace: { id: string; name: string },
  member: { id: string; role: Role },
): SessionSubject {
  return {
    user: { id: user.id, name: user.name, email: user.email },
    workspace: { id: workspace.id, name: workspace.name },
    member: { id: member.id, role: member.role },
  };
}

const invalidRefresh = (): DomainError =>
  DomainError.unauthenticated('auth.invalid_refresh_token', 'The refresh token is not valid, expired or was revoked; log in again');

/**
 * Token pairs. A refresh token is used once: each refresh marks it used and issues its successor in
 * the same family. A used token coming back means it was copied, so the whole family is revoked and
 * whoever holds the newest one must log in again too.
 */
@Injectable()
export class SessionTokensService {
  constructor(
    private readonly db: TenantDb,
    @Inject(CONFIG) private readonly config: FerryConfig,
    private readonly accessTokens: AccessTokenService,
    private readonly refreshTokens: RefreshTokensRepository,
    private readonly members: MembersRepository,
    private readonly users: UsersRepository,
  ) {}

  /** Issues an access token and a refresh token (in `familyId`, or a new family) inside `tx`. */
  async issue(tx: AnyTx, subject: SessionSubject, familyId: string = uuidv7()): Promise<Session> {
    const refresh = mintRefreshToken();
    await this.refreshTokens.insert(tx, {
      userId: subject.user.id,
      workspaceId: subject.workspace.id,
      familyId,
      tokenHash: refresh.hash,
      expiresAt: new Date(Date.now() + this.config.auth.refreshTokenTtlSeconds * 1000),
    });
    const accessToken = this.accessTokens.sign({
      sub: subject.user.id,
      wid: subject.workspace.id,
      mid: subject.member.id,
      role: subject.member.role,
    });
    return { accessToken, refreshToken: refresh.token, expiresIn: this.accessTokens.ttlSeconds, ...subject };
  }

  /** A new session for a user in one of their workspaces; `workspace.not_found` when not a member. */
  async issueFor(userId: string, workspaceId: string): Promise<Session> {
    const subject = await this.findSubject(userId, workspaceId);
    if (!subject) throw DomainError.notFound('workspace');
    return this.db.global((manager) => this.issue({ manager }, subject));
  }

  async rotate(refreshToken: string): Promise<Session> {
    const hash = hashRefreshToken(refreshToken);
    if (!hash) throw invalidRefresh();
    const found = await this.db.global((manager) => this.refreshTokens.findByHash({ manager }, hash));
    if (!found || found.revokedAt || found.expiresAt.getTime() <= Date.now()) throw invalidRefresh();
    if (found.usedAt) return this.revokeFamilyAndFail(found.familyId);
    // Membership is checked again: a member removed since the last refresh gets no new tokens.
    const subject = await this.findSubject(found.userId, found.workspaceId);
    if (!subject) {
      await this.db.global((manager) => this.refreshTokens.revokeFamily({ manager }, found.familyId));
      throw invalidRefresh();
    }
    const outcome = await this.db.global(async (manager) => {
      const row = await this.refreshTokens.lockByHash({ manager }, hash);
      if (!row || row.revokedAt) return 'invalid' as const;
      if (row.usedAt) return 'reused' as const; // a concurrent refresh with the same token won the lock
      await this.refreshTokens.markUsed({ manager }, row.id);
      return this.issue({ manager }, subject, row.familyId);
    });
    if (outcome === 'invalid') throw invalidRefresh();
    if (outcome === 'reused') return this.revokeFamilyAndFail(found.familyId);
    return outcome;
  }

  private async revokeFamilyAndFail(familyId: string): Promise<never> {
    await this.db.global((manager) => this.refreshTokens.revokeFamily({ manager }, familyId));
    throw DomainError.unauthenticated(
      'auth.refresh_reused',
      'This refresh token was already used; every session of its login was ended. Log in again',
    );
  }

  private async findSubject(userId: string, workspaceId: string): Promise<SessionSubject | null> {
    return this.db.asUser(userId, async (tx) => {
      const membership = await this.members.findMembershipOfUser(tx, workspaceId);
      const user = membership ? await this.users.findById(tx, userId) : null;
      if (!membership || !user) return null;
      return subjectOf(user, { id: membership.workspaceId, name: membership.workspaceName }, { id: membership.memberId, role: membership.role });
    });
  }
}
