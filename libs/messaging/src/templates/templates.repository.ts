import { Injectable } from '@nestjs/common';
import type { QueryDeepPartialEntity } from 'typeorm';
import { MessageTemplateEntity, type TemplateCategory, type TemplateStatus, type TenantTx } from '#database';

export interface NewTemplateRow {
  id: string;
  inboxId: string;
  name: string;
  language: string;
  category: TemplateCategory | null;
  status: TemplateStatus;
  body: string;
  components: unknown[];
  parameterCount: number;
}

export type TemplatePatch = Partial<Pick<MessageTemplateEntity, 'name' | 'language' | 'category' | 'status' | 'body' | 'parameterCount'>>;

/** A template as the provider lists it, ready to store. */
export interface SyncedTemplateRow extends NewTemplateRow {
  providerTemplateId: string | null;
}

/** Queries of message templates; each belongs to one inbox. */
@Injectable()
export class TemplatesRepository {
  async findById(tx: TenantTx, inboxId: string, id: string): Promise<MessageTemplateEntity | null> {
    return tx.manager.findOneBy(MessageTemplateEntity, { workspaceId: tx.workspaceId, inboxId, id });
  }

  async findByName(tx: TenantTx, inboxId: string, name: string, language: string): Promise<MessageTemplateEntity | null> {
    return tx.manager.findOneBy(MessageTemplateEntity, { workspaceId: tx.workspaceId, inboxId, name, language });
  }

  /** A keyset page of the inbox's templates by name, optionally of one status. */
  async listByInbox(
    tx: TenantTx,
    inboxId: string,
    options: { status?: TemplateStatus | undefined; after: { name: string; id: string } | null; take: number },
  ): Promise<MessageTemplateEntity[]> {
    const query = tx.manager
      .createQueryBuilder(MessageTemplateEntity, 't')
      .where('t.workspace_id = :workspaceId', { workspaceId: tx.workspaceId })
      .andWhere('t.inbox_id = :inboxId', { inboxId })
      .orderBy('t.name', 'ASC')
      .addOrderBy('t.id', 'ASC')
      .limit(options.take);
    if (options.status) query.andWhere('t.status = :status', { status: options.status });
    if (options.after) query.andWhere('(t.name, t.id) > (:name, :id)', options.after);
    return query.getMany();
  }

  async insert(tx: TenantTx, row: NewTemplateRow): Promise<MessageTemplateEntity> {
    const entity = tx.manager.create(MessageTemplateEntity, { ...row, workspaceId: tx.workspaceId, source: 'manual', providerTemplateId: null, syncedAt: null });
    // The jsonb components (unknown[]) are beyond TypeORM's deep-partial typing.
    await tx.manager.insert(MessageTemplateEntity, entity as QueryDeepPartialEntity<MessageTemplateEntity>);
    return tx.manager.findOneByOrFail(MessageTemplateEntity, { workspaceId: tx.workspaceId, id: row.id });
  }

  async update(tx: TenantTx, id: string, changes: TemplatePatch): Promise<void> {
    await tx.manager.update(MessageTemplateEntity, { workspaceId: tx.workspaceId, id }, { ...changes, updatedAt: () => 'now()' });
  }

  async delete(tx: TenantTx, inboxId: string, id: string): Promise<boolean> {
    const result = await tx.manager.delete(MessageTemplateEntity, { workspaceId: tx.workspaceId, inboxId, id });
    return (result.affected ?? 0) > 0;
  }

  /**
   * Stores the provider's list for the inbox in two statements: each template inserted or updated by
   * (name, language) (a manual one of the same name becomes the provider's), and the provider
   * templates it no longer lists deleted. Answers how many were stored and removed.
   */
  async replaceSynced(tx: TenantTx, inboxId: string, rows: SyncedTemplateRow[], syncedAt: Date): Promise<{ stored: number; removed: number }> {
    const list = JSON.stringify(
      rows.map((row) => ({
        id: row.id,
        name: row.name,
        language: row.language,
        category: row.category,
        status: row.status,
        body: row.body,
        components: row.components,
        parameter_count: row.parameterCount,
        provider_template_id: row.providerTemplateId,
      })),
    );
    // Counted through CTEs: a bare DELETE ... RETURNING comes back from TypeORM as [rows, count].
    const [stored]: Array<{ n: number }> = await tx.manager.query(
      `WITH stored AS (
       INSERT INTO message_templates
         (id, workspace_id, inbox_id, name, language, category, status, body, components, parameter_count, source, provider_template_id, synced_at)
       SELECT t.id, $1::uuid, $2::uuid, t.name, t.language, t.category, t.status, t.body, t.components, t.parameter_count, 'provider', t.provider_template_id, $4::timestamptz
       FROM jsonb_to_recordset($3::jsonb) AS t(id uuid, name text, language text, category text, status text, body text,
                                               components jsonb, parameter_count integer, provider_template_id text)
       ON CONFLICT (workspace_id, inbox_id, name, language) DO UPDATE SET
         category = EXCLUDED.category, status = EXCLUDED.status, body = EXCLUDED.body, components = EXCLUDED.components,
         parameter_count = EXCLUDED.parameter_count, source = 'provider', provider_template_id = EXCLUDED.provider_template_id,
         synced_at = EXCLUDED.synced_at, updated_at = now()
       RETURNING id)
       SELECT count(*) AS n FROM stored`,
      [tx.workspaceId, inboxId, list, syncedAt],
    );
    const [removed]: Array<{ n: number }> = await tx.manager.query(
      `WITH removed AS (
       DELETE FROM message_templates mt
       WHERE mt.workspace_id = $1 AND mt.inbox_id = $2 AND mt.source = 'provider'
         AND NOT EXISTS (SELECT 1 FROM jsonb_to_recordset($3::jsonb) AS t(name text, language text) WHERE t.name = mt.name AND t.language = mt.language)
       RETURNING mt.id)
       SELECT count(*) AS n FROM removed`,
      [tx.workspaceId, inboxId, list],
    );
    return { stored: stored?.n ?? 0, removed: removed?.n ?? 0 };
  }
}
