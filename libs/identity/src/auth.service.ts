import { Injectable } from '@nestjs/common';
import { DomainError } from '#domain';
import { TenantDb } from '#database';
import type { Principal } from './principal.js';
import { parseApiKey } from './api-key-token.js';
import { ApiKeysRepository } from './api-keys.repository.js';

@Injectable()
export class AuthService {
  constructor(
    private readonly db: TenantDb,
    private readonly apiKeys: ApiKeysRepository,
  ) {}

  /** Resolves a bearer token (user access token or `fry_` API key) to its principal. */
  async authenticate(token: string): Promise<Principal> {
    if (token.startsWith('fry_')) return this.authenticateApiKey(token);
    throw DomainError.unauthenticated('auth.invalid_token', 'The token is not valid');
  }

  private async authenticateApiKey(key: string): Promise<Principal> {
    const parsed = parseApiKey(key);
    if (!parsed) throw DomainError.unauthenticated('auth.invalid_api_key', 'The API key is not valid');
    const found = await this.db.run(parsed.workspaceId, async (tx) => {
      const row = await this.apiKeys.findActiveByHash(tx, parsed.hash);
      if (row) await this.apiKeys.touchLastUsed(tx, row.id);
      return row;
    });
    if (!found) throw DomainError.unauthenticated('auth.invalid_api_key', 'The API key is not valid or was revoked');
    return {
      kind: 'api_key',
      workspaceId: found.workspaceId,
      memberId: found.createdBy,
      userId: null,
      apiKeyId: found.id,
      role: 'admin',
    };
  }
}
