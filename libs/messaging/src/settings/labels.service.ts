import { Injectable } from '@nestjs/common';
import { decodeCursor, DomainError, isUuid, type Page, pageOf, uuidv7 } from '#domain';
import { type LabelEntity, TenantDb, type TenantTx } from '#database';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { LabelsRepository } from './labels.repository.js';

export type LabelView = Pick<LabelEntity, 'id' | 'name' | 'color' | 'description' | 'createdAt' | 'updatedAt'>;

export interface CreateLabelInput {
  name: string;
  color?: string;
  description?: string | null;
}

/** `description: null` clears it. */
export type UpdateLabelInput = Partial<CreateLabelInput>;

export const DEFAULT_LABEL_COLOR = '#6b7280';
const isSortKey = (key: string): boolean => key.length > 0 && key.length <= 512;

/**
 * Labels of conversations. Conversations carry label names (conversations.labels), so a rename
 * or a delete rewrites them in the same transaction: no conversation keeps a label that is gone.
 */
@Injectable()
export class LabelsService {
  constructor(
    private readonly db: TenantDb,
    private readonly labels: LabelsRepository,
  ) {}

  async list(workspaceId: string, page: { limit: number; cursor?: string | undefined }): Promise<Page<LabelView>> {
    const after = decodeCursor(page.cursor, isSortKey);
    return this.db.run(workspaceId, async (tx) => {
      const rows = await this.labels.listAfter(tx, after ? { name: after.key, id: after.id } : null, page.limit + 1);
      return pageOf(rows, page.limit, (row) => ({ key: row.name, id: row.id }));
    });
  }

  async get(workspaceId: string, id: string): Promise<LabelView> {
    return this.db.run(workspaceId, (tx) => this.require(tx, id));
  }

  async create(workspaceId: string, input: CreateLabelInput): Promise<LabelView> {
    return this.db.run(workspaceId, (tx) =>
      this.labels
        .insert(tx, {
          id: uuidv7(),
          name: input.name,
          color: (input.color ?? DEFAULT_LABEL_COLOR).toLowerCase(),
          description: input.description?.trim() || null,
        })
        .catch(nameTaken),
    );
  }

  async update(workspaceId: string, id: string, input: UpdateLabelInput): Promise<LabelView> {
    return this.db.run(workspaceId, async (tx) => {
      const row = await this.require(tx, id, { lock: true });
      const changes: Partial<Pick<LabelEntity, 'name' | 'color' | 'description'>> = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.color !== undefined) changes.color = input.color.toLowerCase();
      if (input.description !== undefined) changes.description = input.description?.trim() || null;
      await this.labels.update(tx, row.id, changes).catch(nameTaken);
      if (changes.name !== undefined && changes.name !== row.name) await this.labels.renameOnConversations(tx, row.name, changes.name);
      return this.require(tx, row.id);
    });
  }

  /** Deletes the label and takes it off every conversation. */
  async remove(workspaceId: string, id: string): Promise<void> {
    await this.db.run(workspaceId, async (tx) => {
      const row = await this.require(tx, id, { lock: true });
      await this.labels.removeFromConversations(tx, row.name);
      await this.labels.delete(tx, row.id);
    });
  }

  private async require(tx: TenantTx, id: string, options: { lock?: boolean } = {}): Promise<LabelEntity> {
    const row = !isUuid(id) ? null : options.lock ? await this.labels.findByIdForUpdate(tx, id) : await this.labels.findById(tx, id);
    if (!row) throw DomainError.notFound('label');
    return row;
  }
}

function nameTaken(error: unknown): never {
  if (uniqueViolation(error) === 'labels_workspace_id_name_key') throw DomainError.conflict('label.name_taken', 'A label with this name exists');
  throw error;
}
