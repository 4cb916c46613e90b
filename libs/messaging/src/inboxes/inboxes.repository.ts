import { Injectable } from '@nestjs/common';
import { IsNull } from 'typeorm';
import { InboxEntity, type TenantTx } from '#database';

/** Queries of inboxes. Deleted inboxes are kept (their messages' history refers to them) but hidden. */
@Injectable()
export class InboxesRepository {
  async findById(tx: TenantTx, id: string): Promise<InboxEntity | null> {
    return tx.manager.findOneBy(InboxEntity, { workspaceId: tx.workspaceId, id, deletedAt: IsNull() });
  }
}
