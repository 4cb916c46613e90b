import { Injectable } from '@nestjs/common';
import { uuidv7, type Role } from '#domain';
import { InvitationEntity, type TenantTx } from '#database';

@Injectable()
export class InvitationsRepository {
  async insert(
    tx: TenantTx,
    invitation: { email: string; role: Role; tokenHash: string; invitedBy: string | null; expiresAt: Date },
  ): Promise<InvitationEntity> {
    const entity = tx.manager.create(InvitationEntity, { id: uuidv7(), workspaceId: tx.workspaceId, acceptedAt: null, ...invitation });
    await tx.manager.insert(InvitationEntity, entity);
    return entity;
  }

  /** An invitation that can still be accepted, locked so it is accepted once. */
  async lockPendingByHash(tx: TenantTx, tokenHash: string): Promise<InvitationEntity | null> {
    return tx.manager
      .createQueryBuilder(InvitationEntity, 'i')
      .where('i.workspace_id = :workspaceId AND i.token_hash = :tokenHash', { workspaceId: tx.workspaceId, tokenHash })
      .andWhere('i.accepted_at IS NULL AND i.expires_at > now()')
      .setLock('pessimistic_write')
      .getOne();
  }

  async markAccepted(tx: TenantTx, id: string): Promise<void> {
    await tx.manager.update(InvitationEntity, { workspaceId: tx.workspaceId, id }, { acceptedAt: () => 'now()' });
  }
}
