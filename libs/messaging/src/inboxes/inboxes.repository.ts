import { Injectable } from '@nestjs/common';
import { IsNull, MoreThan, type QueryDeepPartialEntity } from 'typeorm';
import type { Channel } from '#domain';
import { InboxEntity, type TenantTx } from '#database';

export interface NewInboxRow {
  id: string;
  name: string;
  channel: Channel;
  config: Record<string, unknown>;
  secrets: string | null;
}

/** Queries of inboxes. Deleted inboxes are kept (their messages' history refers to them) but hidden. */
@Injectable()
export class InboxesRepository {
  // Raw SQL: read on every hook, inbound message and send, where TypeORM's query building costs more than the query.
  async findById(tx: TenantTx, id: string): Promise<InboxEntity | null> {
    const rows: InboxEntity[] = await tx.manager.query(
      `SELECT id, workspace_id AS "workspaceId", name, channel, config, secrets, created_at AS "createdAt", updated_at AS "updatedAt",
              deleted_at AS "deletedAt"
       FROM inboxes WHERE workspace_id = $1 AND id = $2 AND deleted_at IS NULL`,
      [tx.workspaceId, id],
    );
    return rows[0] ?? null;
  }

  /** The inbox, locked until the transaction ends: a read-modify-write of its config loses no update. */
  async findByIdForUpdate(tx: TenantTx, id: string): Promise<InboxEntity | null> {
    return tx.manager.findOne(InboxEntity, {
      where: { workspaceId: tx.workspaceId, id, deletedAt: IsNull() },
      lock: { mode: 'pessimistic_write' },
    });
  }

  /** A keyset page in creation order (ids are UUIDv7): `take` rows after `afterId`. */
  async listAfter(tx: TenantTx, afterId: string | null, take: number): Promise<InboxEntity[]> {
    return tx.manager.find(InboxEntity, {
      where: { workspaceId: tx.workspaceId, deletedAt: IsNull(), ...(afterId ? { id: MoreThan(afterId) } : {}) },
      order: { id: 'ASC' },
      take,
    });
  }

  async insert(tx: TenantTx, row: NewInboxRow): Promise<InboxEntity> {
    const entity = tx.manager.create(InboxEntity, { ...row, workspaceId: tx.workspaceId, deletedAt: null });
    // The jsonb config (Record<string, unknown>) is beyond TypeORM's deep-partial typing.
    await tx.manager.insert(InboxEntity, entity as QueryDeepPartialEntity<InboxEntity>);
    return entity;
  }

  async update(tx: TenantTx, id: string, changes: Partial<Pick<InboxEntity, 'name' | 'config' | 'secrets'>>): Promise<void> {
    await tx.manager.update(InboxEntity, { workspaceId: tx.workspaceId, id, deletedAt: IsNull() }, changes as QueryDeepPartialEntity<InboxEntity>);
  }

  /** Marks the inbox deleted; false when there was no such (undeleted) inbox. */
  async softDelete(tx: TenantTx, id: string): Promise<boolean> {
    const result = await tx.manager.update(InboxEntity, { workspaceId: tx.workspaceId, id, deletedAt: IsNull() }, { deletedAt: () => 'now()' });
    return (result.affected ?? 0) > 0;
  }
}
