import { Injectable } from '@nestjs/common';
import { CannedResponseEntity, type TenantTx } from '#database';

export interface NewCannedResponseRow {
  id: string;
  shortCode: string;
  content: string;
}

/** Queries of canned responses (the replies agents insert by short code). */
@Injectable()
export class CannedResponsesRepository {
  async findById(tx: TenantTx, id: string): Promise<CannedResponseEntity | null> {
    return tx.manager.findOneBy(CannedResponseEntity, { workspaceId: tx.workspaceId, id });
  }

  /** A keyset page in short-code order, optionally only short codes starting with `prefix` (any case). */
  async listAfter(
    tx: TenantTx,
    options: { prefix?: string | undefined; after: { shortCode: string; id: string } | null; take: number },
  ): Promise<CannedResponseEntity[]> {
    const query = tx.manager
      .createQueryBuilder(CannedResponseEntity, 'c')
      .where('c.workspace_id = :workspaceId', { workspaceId: tx.workspaceId })
      .orderBy('c.short_code', 'ASC')
      .addOrderBy('c.id', 'ASC')
      .limit(options.take);
    if (options.prefix) query.andWhere(`c.short_code ILIKE :pattern`, { pattern: `${options.prefix.replace(/[\\%_]/g, '\\$&')}%` });
    if (options.after) query.andWhere('(c.short_code, c.id) > (:shortCode, :id)', options.after);
    return query.getMany();
  }

  async insert(tx: TenantTx, row: NewCannedResponseRow): Promise<CannedResponseEntity> {
    const entity = tx.manager.create(CannedResponseEntity, { ...row, workspaceId: tx.workspaceId });
    await tx.manager.insert(CannedResponseEntity, entity);
    return entity;
  }

  async update(tx: TenantTx, id: string, changes: Partial<Pick<CannedResponseEntity, 'shortCode' | 'content'>>): Promise<void> {
    await tx.manager.update(CannedResponseEntity, { workspaceId: tx.workspaceId, id }, { ...changes, updatedAt: () => 'now()' });
  }

  async delete(tx: TenantTx, id: string): Promise<boolean> {
    const result = await tx.manager.delete(CannedResponseEntity, { workspaceId: tx.workspaceId, id });
    return (result.affected ?? 0) > 0;
  }
}
