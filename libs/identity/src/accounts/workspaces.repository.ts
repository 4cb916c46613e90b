import { Injectable } from '@nestjs/common';
import { WorkspaceEntity, type TenantTx } from '#database';

/** The workspace row of the transaction's own workspace (row-level security shows no other). */
@Injectable()
export class WorkspacesRepository {
  /** Creates the transaction's workspace: sign-up opens the transaction with the new id. */
  async insertCurrent(tx: TenantTx, name: string): Promise<WorkspaceEntity> {
    const entity = tx.manager.create(WorkspaceEntity, { id: tx.workspaceId, name });
    await tx.manager.insert(WorkspaceEntity, entity);
    return entity;
  }

  async findCurrent(tx: TenantTx): Promise<WorkspaceEntity | null> {
    return tx.manager.findOneBy(WorkspaceEntity, { id: tx.workspaceId });
  }
}
