import { Module } from '@nestjs/common';
import { AuthService } from './auth.service.js';
import { UsersRepository } from './accounts/users.repository.js';
import { WorkspacesRepository } from './accounts/workspaces.repository.js';
import { ApiKeyCache } from './api-keys/api-key-cache.js';
import { ApiKeysRepository } from './api-keys/api-keys.repository.js';
import { ApiKeysService } from './api-keys/api-keys.service.js';
import { InvitationsRepository } from './invitations/invitations.repository.js';
import { InvitationsService } from './invitations/invitations.service.js';
import { MembersRepository } from './members/members.repository.js';
import { MembersService } from './members/members.service.js';
import { LoginThrottle } from './sessions/login-throttle.js';
import { RefreshTokensRepository } from './sessions/refresh-tokens.repository.js';
import { SessionTokensService } from './sessions/session-tokens.service.js';
import { SessionsService } from './sessions/sessions.service.js';
import { AccessTokenService } from './tokens/access-token.js';

const SERVICES = [AuthService, SessionsService, MembersService, InvitationsService, ApiKeysService];

/** Accounts, sessions (access and refresh tokens), members, invitations and API keys. */
@Module({
  providers: [
    ...SERVICES,
    SessionTokensService,
    AccessTokenService,
    LoginThrottle,
    ApiKeyCache,
    UsersRepository,
    WorkspacesRepository,
    MembersRepository,
    RefreshTokensRepository,
    InvitationsRepository,
    ApiKeysRepository,
  ],
  exports: SERVICES,
})
export class IdentityModule {}
