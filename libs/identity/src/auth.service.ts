import { Injectable } from '@nestjs/common';
import { DomainError } from '#domain';
import type { Principal } from './principal.js';

@Injectable()
export class AuthService {
  /** Resolves a bearer token (user access token or `fry_` API key) to its principal. */
  async authenticate(token: string): Promise<Principal> {
    throw DomainError.unauthenticated('auth.invalid_token', `Token not recognised (${token.length} chars)`);
  }
}
