import { Injectable } from '@nestjs/common';
import { LabelEntity, type TenantTx } from '#database';

export interface NewLabelRow {
  id: string;
  name: string;
  color: string;
  description: string | null;
}

/** Queries of labels, and of the label names conversations carry (conversations.labels, text[]). */
@Injectable()
export class LabelsRepository {
  async findById(tx: TenantTx, id: string): Promise<LabelEntity | null> {
    return tx.manager.findOneBy(LabelEntity, { workspaceId: tx.workspaceId, id });
  }

  /** The label, locked until the transaction ends, so a rename and a delete cannot cross. */
  async findByIdForUpdate(tx: TenantTx, id: string): Promise<LabelEntity | null> {
    return tx.manager.findOne(LabelEntity, { where: { workspaceId: tx.workspaceId, id }, lock: { mode: 'pessimistic_write' } });
  }

  /** A keyset page in name order: `take` labels after (name, id). */
  async listAfter(tx: TenantTx, after: { name: string; id: string } | null, take: number): Promise<LabelEntity[]> {
    const query = tx.manager
      .createQueryBuilder(LabelEntity, 'l')
      .where('l.workspace_id = :workspaceId', { workspaceId: tx.workspaceId })
      .orderBy('l.name', 'ASC')
      .addOrderBy('l.id', 'ASC')
      .limit(take);
    if (after) query.andWhere('(l.name, l.id) > (:name, :id)', after);
    return query.getMany();
  }

  async insert(tx: TenantTx, row: NewLabelRow): Promise<LabelEntity> {
    const entity = tx.manager.create(LabelEntity, { ...row, workspaceId: tx.workspaceId });
    await tx.manager.insert(LabelEntity, entity);
    return entity;
  }

  async update(tx: TenantTx, id: string, changes: Partial<Pick<LabelEntity, 'name' | 'color' | 'description'>>): Promise<void> {
    await tx.manager.update(LabelEntity, { workspaceId: tx.workspaceId, id }, { ...changes, updatedAt: () => 'now()' });
  }

  async delete(tx: TenantTx, id: string): Promise<boolean> {
    const result = await tx.manager.delete(LabelEntity, { workspaceId: tx.workspaceId, id });
    return (result.affected ?? 0) > 0;
  }

  /** Renames the label on every conversation carrying it (without doubling it where both names are). */
  async renameOnConversations(tx: TenantTx, from: string, to: string): Promise<number> {
    const [, affected]: [unknown, number] = await tx.manager.query(
      `UPDATE conversations
       SET labels = CASE WHEN $3 = ANY(labels) THEN array_remove(labels, $2) ELSE array_replace(labels, $2, $3) END
       WHERE workspace_id = $1 AND labels @> ARRAY[$2]::text[]`,
      [tx.workspaceId, from, to],
    );
    return affected;
  }

  async removeFromConversations(tx: TenantTx, name: string): Promise<number> {
    const [, affected]: [unknown, number] = await tx.manager.query(
      `UPDATE conversations SET labels = array_remove(labels, $2) WHERE workspace_id = $1 AND labels @> ARRAY[$2]::text[]`,
      [tx.workspaceId, name],
    );
    return affected;
  }
}
