import type { Type } from '@nestjs/common';

/** Controllers of sign-up, login, members, invitations and API keys. */
export const IDENTITY_CONTROLLERS: Type[] = [];
