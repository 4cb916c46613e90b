import { randomBytes } from 'node:crypto';
import { Injectable, type OnModuleInit } from '@nestjs/common';
import { DomainError, isUuid, uuidv7 } from '#domain';
import { TenantDb } from '#database';
import type { Principal } from '../principal.js';
import { UsersRepository } from '../accounts/users.repository.js';
import { WorkspacesRepository } from '../accounts/workspaces.repository.js';
import {
  assertAcceptablePassword,
  emailTaken,
  invalidCredentials,
  isUniqueViolation,
  normalizeEmail,
} from '../accounts/credentials.js';
import { MembersRepository } from '../members/members.repository.js';
import { hashPassword, verifyPassword } from '../tokens/password.js';
import { LoginThrottle } from './login-throttle.js';
import { type Session, SessionTokensService, subjectOf } from './session-tokens.service.js';

export interface SignupInput {
  workspaceName: string;
  name: string;
  email: string;
  password: string;
}

export interface LoginInput {
  email: string;
  password: string;
  /** The workspace to log in to; by default the user's oldest membership. */
  workspaceId?: string;
}

/** Sign-up, login, refresh and switching workspace: each answers a fresh token pair. */
@Injectable()
export class SessionsService implements OnModuleInit {
  /** Unknown emails are checked against this, so they cost what a wrong password costs. */
  private dummyHash: Promise<string> | undefined;

  constructor(
    private readonly db: TenantDb,
    private readonly users: UsersRepository,
    private readonly workspaces: WorkspacesRepository,
    private readonly members: MembersRepository,
    private readonly tokens: SessionTokensService,
    private readonly throttle: LoginThrottle,
  ) {}

  async onModuleInit(): Promise<void> {
    await this.dummyPasswordHash();
  }

  /** A user, their workspace and their owner membership, in one transaction. */
  async signup(input: SignupInput): Promise<Session> {
    assertAcceptablePassword(input.password);
    const email = normalizeEmail(input.email);
    const passwordHash = await hashPassword(input.password);
    try {
      return await this.db.run(uuidv7(), async (tx) => {
        if (await this.users.findByEmail(tx, email)) throw emailTaken();
        const workspace = await this.workspaces.insertCurrent(tx, input.workspaceName.trim());
        const user = await this.users.insert(tx, { email, name: input.name.trim(), passwordHash });
        const member = await this.members.insert(tx, { userId: user.id, role: 'owner' });
        return this.tokens.issue(tx, subjectOf(user, workspace, member));
      });
    } catch (error) {
      // Two sign-ups with one email at once: the unique index decides, the loser gets the same 409.
      if (isUniqueViolation(error, 'users_email_key')) throw emailTaken();
      throw error;
    }
  }

  async login(input: LoginInput, clientIp: string): Promise<Session> {
    const email = normalizeEmail(input.email);
    await this.throttle.assertAllowed(email, clientIp);
    const user = await this.db.global((manager) => this.users.findByEmail({ manager }, email));
    const valid = await verifyPassword(input.password, user?.passwordHash ?? (await this.dummyPasswordHash()));
    if (!user || !valid) {
      await this.throttle.recordFailure(email, clientIp);
      throw invalidCredentials();
    }
    await this.throttle.recordSuccess(email);
    if (input.workspaceId !== undefined) {
      if (!isUuid(input.workspaceId)) throw DomainError.notFound('workspace');
      return this.tokens.issueFor(user.id, input.workspaceId);
    }
    const oldest = await this.db.asUser(user.id, async (tx) => (await this.members.listMembershipsOfUser(tx))[0]);
    if (!oldest) throw DomainError.forbidden('auth.no_workspace', 'This account is not a member of any workspace');
    return this.tokens.issueFor(user.id, oldest.workspaceId);
  }

  async refresh(refreshToken: string): Promise<Session> {
    return this.tokens.rotate(refreshToken);
  }

  /** A token pair for another of the caller's workspaces. Only users switch: an API key has one. */
  async switchWorkspace(caller: Principal, workspaceId: string): Promise<Session> {
    if (caller.kind !== 'user' || !caller.userId) {
      throw DomainError.forbidden('auth.user_required', 'Only a user access token can switch workspace');
    }
    if (!isUuid(workspaceId)) throw DomainError.notFound('workspace');
    return this.tokens.issueFor(caller.userId, workspaceId);
  }

  private dummyPasswordHash(): Promise<string> {
    this.dummyHash ??= hashPassword(randomBytes(16).toString('base64url'));
    return this.dummyHash;
  }
}
