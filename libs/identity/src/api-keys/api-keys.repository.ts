import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { uuidv7 } from '#domain';
import { ApiKeyEntity, type TenantTx } from '#database';

@Injectable()
export class ApiKeysRepository {
  async findActiveByHash(tx: TenantTx, keyHash: string): Promise<ApiKeyEntity | null> {
    return tx.manager.findOneBy(ApiKeyEntity, { workspaceId: tx.workspaceId, keyHash, revokedAt: IsNull() });
  }

  async findActiveById(tx: TenantTx, id: string): Promise<ApiKeyEntity | null> {
    return tx.manager.findOneBy(ApiKeyEntity, { workspaceId: tx.workspaceId, id, revokedAt: IsNull() });
  }

  /** Records use at most once a minute per key, so a busy integration does not write on every call. */
  async touchLastUsed(tx: TenantTx, id: string): Promise<void> {
    await tx.manager.query(
      `UPDATE api_keys SET last_used_at = now()
       WHERE workspace_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [tx.workspaceId, id],
    );
  }

  /** Keyset page of the keys still in use, in creation order (ids are UUIDv7). */
  async listActivePage(tx: TenantTx, afterId: string | null, limit: number): Promise<ApiKeyEntity[]> {
    const query = tx.manager
      .createQueryBuilder(ApiKeyEntity, 'k')
      .where('k.workspace_id = :workspaceId AND k.revoked_at IS NULL', { workspaceId: tx.workspaceId })
      .orderBy('k.id', 'ASC')
      .limit(limit);
    if (afterId) query.andWhere('k.id > :afterId', { afterId });
    return query.getMany();
  }

  async insert(tx: TenantTx, key: { name: string; prefix: string; keyHash: string; createdBy: string | null }): Promise<ApiKeyEntity> {
    const entity = tx.manager.create(ApiKeyEntity, {
      id: uuidv7(),
      workspaceId: tx.workspaceId,
      lastUsedAt: null,
      revokedAt: null,
      ...key,
    });
    await tx.manager.insert(ApiKeyEntity, entity);
    return entity;
  }

  /** Revokes a key still in use; false when there is none with that id in this workspace. */
  async revoke(tx: TenantTx, id: string): Promise<boolean> {
    const result = await tx.manager.update(
      ApiKeyEntity,
      { workspaceId: tx.workspaceId, id, revokedAt: IsNull() },
      { revokedAt: () => 'now()' },
    );
    return (result.affected ?? 0) > 0;
  }
}
