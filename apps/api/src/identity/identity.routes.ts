import type { Type } from '@nestjs/common';
import { ApiKeysController } from './api-keys.controller.js';
import { AuthController } from './auth.controller.js';
import { InvitationsController } from './invitations.controller.js';
import { MembersController } from './members.controller.js';

/** Controllers of sign-up, login, members, invitations and API keys. */
export const IDENTITY_CONTROLLERS: Type[] = [AuthController, MembersController, InvitationsController, ApiKeysController];
