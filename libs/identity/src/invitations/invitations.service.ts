import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { canManageRole, DomainError, type Role } from '#domain';
import { TenantDb } from '#database';
import { Outbox } from '#queue';
import type { Principal } from '../principal.js';
import { UsersRepository } from '../accounts/users.repository.js';
import { WorkspacesRepository } from '../accounts/workspaces.repository.js';
import { assertAcceptablePassword, emailTaken, invalidCredentials, isUniqueViolation, normalizeEmail } from '../accounts/credentials.js';
import { MembersRepository } from '../members/members.repository.js';
import { LoginThrottle } from '../sessions/login-throttle.js';
import { type Session, SessionTokensService, subjectOf } from '../sessions/session-tokens.service.js';
import { mintInvitationToken, parseInvitationToken } from '../tokens/api-key-token.js';
import { hashPassword, verifyPassword } from '../tokens/password.js';
import { InvitationsRepository } from './invitations.repository.js';

/** The created invitation; `token` is shown this once (only its hash is stored). */
export interface CreatedInvitation {
  id: string;
  email: string;
  role: Role;
  expiresAt: string;
  token: string;
}

export interface AcceptInput {
  /** Needed when the invited email has no account yet. */
  name?: string;
  password: string;
}

const notFound = (): DomainError => DomainError.notFound('invitation');

@Injectable()
export class InvitationsService {
  constructor(
    private readonly db: TenantDb,
    @Inject(CONFIG) private readonly config: FerryConfig,
    private readonly invitations: InvitationsRepository,
    private readonly members: MembersRepository,
    private readonly users: UsersRepository,
    private readonly workspaces: WorkspacesRepository,
    private readonly tokens: SessionTokensService,
    private readonly throttle: LoginThrottle,
    private readonly outbox: Outbox,
  ) {}

  async create(caller: Principal, input: { email: string; role: Role }): Promise<CreatedInvitation> {
    if (!canManageRole(caller.role, input.role)) {
      throw DomainError.forbidden('invitation.role_forbidden', `Your role (${caller.role}) cannot invite a ${input.role}`);
    }
    const email = normalizeEmail(input.email);
    return this.db.run(caller.workspaceId, async (tx) => {
      if (await this.members.existsWithEmail(tx, email)) {
        throw DomainError.conflict('invitation.already_member', 'Someone with this email is a member already');
      }
      const minted = mintInvitationToken(tx.workspaceId);
      const invitation = await this.invitations.insert(tx, {
        email,
        role: input.role,
        tokenHash: minted.hash,
        invitedBy: caller.memberId,
        expiresAt: new Date(Date.now() + this.config.auth.invitationTtlSeconds * 1000),
      });
      return {
        id: invitation.id,
        email: invitation.email,
        role: invitation.role,
        expiresAt: invitation.expiresAt.toISOString(),
        token: minted.token,
      };
    });
  }

  /**
   * Joins the invited workspace. An email without an account gets one (with `name`); an existing
   * account proves itself with its password, which counts toward the login throttle like a login.
   */
  async accept(token: string, input: AcceptInput, clientIp: string): Promise<Session> {
    const parsed = parseInvitationToken(token);
    if (!parsed) throw notFound();
    try {
      return await this.db.run(parsed.workspaceId, async (tx) => {
        const invitation = await this.invitations.lockPendingByHash(tx, parsed.hash);
        if (!invitation) throw notFound();
        let user = await this.users.findByEmail(tx, invitation.email);
        if (user) {
          await this.throttle.assertAllowed(invitation.email, clientIp);
          if (!(await verifyPassword(input.password, user.passwordHash))) {
            await this.throttle.recordFailure(invitation.email, clientIp);
            throw invalidCredentials();
          }
          if (await this.members.findByUserId(tx, user.id)) {
            throw DomainError.conflict('invitation.already_member', 'You are a member of this workspace already');
          }
        } else {
          const name = input.name?.trim();
          if (!name) {
            throw DomainError.invalid('request.invalid', 'A name is needed to create the account', [
              { field: 'name', message: 'name is required when the invited email has no account yet' },
            ]);
          }
          assertAcceptablePassword(input.password);
          user = await this.users.insert(tx, { email: invitation.email, name, passwordHash: await hashPassword(input.password) });
        }
        const member = await this.members.insert(tx, { userId: user.id, role: invitation.role });
        await this.invitations.markAccepted(tx, invitation.id);
        // Seats follow members (billing consumes it, throttled per workspace).
        await this.outbox.write(tx, 'billing.seats', { workspaceId: tx.workspaceId });
        const workspace = await this.workspaces.findCurrent(tx);
        if (!workspace) throw notFound();
        return this.tokens.issue(tx, subjectOf(user, workspace, member));
      });
    } catch (error) {
      if (isUniqueViolation(error, 'users_email_key')) throw emailTaken();
      throw error;
    }
  }
}
