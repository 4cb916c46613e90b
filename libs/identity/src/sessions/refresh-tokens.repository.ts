import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { uuidv7 } from '#domain';
import { RefreshTokenEntity, type TenantTx } from '#database';
import type { AnyTx } from '../accounts/users.repository.js';

/** Refresh tokens are global (a session is a user's, in one workspace); rows hold only the token's hash. */
@Injectable()
export class RefreshTokensRepository {
  async insert(
    tx: AnyTx,
    token: { userId: string; workspaceId: string; familyId: string; tokenHash: string; expiresAt: Date },
  ): Promise<RefreshTokenEntity> {
    const entity = tx.manager.create(RefreshTokenEntity, { id: uuidv7(), usedAt: null, revokedAt: null, ...token });
    await tx.manager.insert(RefreshTokenEntity, entity);
    return entity;
  }

  async findByHash(tx: AnyTx, tokenHash: string): Promise<RefreshTokenEntity | null> {
    return tx.manager.findOneBy(RefreshTokenEntity, { tokenHash });
  }

  /** The same row, locked until the transaction ends: two refreshes with one token run one at a time. */
  async lockByHash(tx: AnyTx, tokenHash: string): Promise<RefreshTokenEntity | null> {
    return tx.manager
      .createQueryBuilder(RefreshTokenEntity, 't')
      .where('t.token_hash = :tokenHash', { tokenHash })
      .setLock('pessimistic_write')
      .getOne();
  }

  async markUsed(tx: AnyTx, id: string): Promise<void> {
    await tx.manager.query(`UPDATE refresh_tokens SET used_at = now() WHERE id = $1 AND used_at IS NULL`, [id]);
  }

  async revokeFamily(tx: AnyTx, familyId: string): Promise<void> {
    await tx.manager.query(`UPDATE refresh_tokens SET revoked_at = now() WHERE family_id = $1 AND revoked_at IS NULL`, [familyId]);
  }

  /** Ends every session of a user in the transaction's workspace (the member was removed). */
  async revokeForUserInWorkspace(tx: TenantTx, userId: string): Promise<number> {
    const result = await tx.manager.update(
      RefreshTokenEntity,
      { workspaceId: tx.workspaceId, userId, revokedAt: IsNull() },
      { revokedAt: () => 'now()' },
    );
    return result.affected ?? 0;
  }
}
