import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { ApiKeyEntity, type TenantTx } from '#database';

@Injectable()
export class ApiKeysRepository {
  async findActiveByHash(tx: TenantTx, keyHash: string): Promise<ApiKeyEntity | null> {
    return tx.manager.findOneBy(ApiKeyEntity, { workspaceId: tx.workspaceId, keyHash, revokedAt: IsNull() });
  }

  /** Records use at most once a minute per key, so a busy integration does not write on every call. */
  async touchLastUsed(tx: TenantTx, id: string): Promise<void> {
    await tx.manager.query(
      `UPDATE api_keys SET last_used_at = now()
       WHERE workspace_id = $1 AND id = $2 AND (last_used_at IS NULL OR last_used_at < now() - interval '1 minute')`,
      [tx.workspaceId, id],
    );
  }
}
