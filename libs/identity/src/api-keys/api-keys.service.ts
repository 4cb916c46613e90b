import { Injectable } from '@nestjs/common';
import { decodeCursor, DomainError, isUuid, type Page, pageOf } from '#domain';
import { ApiKeyEntity, TenantDb } from '#database';
import type { Principal } from '../principal.js';
import { mintApiKey } from '../tokens/api-key-token.js';
import { ApiKeysRepository } from './api-keys.repository.js';
import { ApiKeyCache } from './api-key-cache.js';

export interface ApiKeyView {
  id: string;
  name: string;
  /** The key's first characters, to tell keys apart; never the key. */
  prefix: string;
  createdAt: string;
  lastUsedAt: string | null;
}

/** The created key; `key` is shown this once (only its hash is stored). */
export interface CreatedApiKey {
  id: string;
  name: string;
  prefix: string;
  key: string;
  createdAt: string;
}

/** API keys of the workspace: they act with admin rights, so only admins and owners manage them. */
@Injectable()
export class ApiKeysService {
  constructor(
    private readonly db: TenantDb,
    private readonly apiKeys: ApiKeysRepository,
    private readonly cache: ApiKeyCache,
  ) {}

  async list(caller: Principal, page: { limit: number; cursor?: string }): Promise<Page<ApiKeyView>> {
    const after = decodeCursor(page.cursor, isUuid);
    const rows = await this.db.run(caller.workspaceId, (tx) => this.apiKeys.listActivePage(tx, after?.id ?? null, page.limit + 1));
    return pageOf(rows.map(toView), page.limit, (key) => ({ key: key.id, id: key.id }));
  }

  async create(caller: Principal, input: { name: string }): Promise<CreatedApiKey> {
    return this.db.run(caller.workspaceId, async (tx) => {
      const minted = mintApiKey(tx.workspaceId);
      const row = await this.apiKeys.insert(tx, {
        name: input.name.trim(),
        prefix: minted.prefix,
        keyHash: minted.hash,
        createdBy: caller.memberId,
      });
      return { id: row.id, name: row.name, prefix: row.prefix, key: minted.key, createdAt: row.createdAt.toISOString() };
    });
  }

  /** Revokes the key at once: its next request answers 401. */
  async revoke(caller: Principal, id: string): Promise<void> {
    if (!isUuid(id)) throw DomainError.notFound('api_key');
    const revoked = await this.db.run(caller.workspaceId, (tx) => this.apiKeys.revoke(tx, id));
    if (!revoked) throw DomainError.notFound('api_key');
    this.cache.forget(id);
  }
}

function toView(row: ApiKeyEntity): ApiKeyView {
  return {
    id: row.id,
    name: row.name,
    prefix: row.prefix,
    createdAt: row.createdAt.toISOString(),
    lastUsedAt: row.lastUsedAt?.toISOString() ?? null,
  };
}
