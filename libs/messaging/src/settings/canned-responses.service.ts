import { Injectable } from '@nestjs/common';
import { decodeCursor, DomainError, isUuid, type Page, pageOf, uuidv7 } from '#domain';
import { type CannedResponseEntity, TenantDb, type TenantTx } from '#database';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { CannedResponsesRepository } from './canned-responses.repository.js';

export type CannedResponseView = Pick<CannedResponseEntity, 'id' | 'shortCode' | 'content' | 'createdAt' | 'updatedAt'>;

export interface CreateCannedResponseInput {
  shortCode: string;
  content: string;
}

export type UpdateCannedResponseInput = Partial<CreateCannedResponseInput>;

const isSortKey = (key: string): boolean => key.length > 0 && key.length <= 512;

/** Canned responses: short codes are unique in a workspace; lists can narrow to a short-code prefix. */
@Injectable()
export class CannedResponsesService {
  constructor(
    private readonly db: TenantDb,
    private readonly cannedResponses: CannedResponsesRepository,
  ) {}

  async list(
    workspaceId: string,
    page: { limit: number; cursor?: string | undefined; q?: string | undefined },
  ): Promise<Page<CannedResponseView>> {
    const after = decodeCursor(page.cursor, isSortKey);
    return this.db.run(workspaceId, async (tx) => {
      const rows = await this.cannedResponses.listAfter(tx, {
        prefix: page.q?.trim(),
        after: after ? { shortCode: after.key, id: after.id } : null,
        take: page.limit + 1,
      });
      return pageOf(rows, page.limit, (row) => ({ key: row.shortCode, id: row.id }));
    });
  }

  async get(workspaceId: string, id: string): Promise<CannedResponseView> {
    return this.db.run(workspaceId, (tx) => this.require(tx, id));
  }

  async create(workspaceId: string, input: CreateCannedResponseInput): Promise<CannedResponseView> {
    return this.db.run(workspaceId, (tx) =>
      this.cannedResponses.insert(tx, { id: uuidv7(), shortCode: input.shortCode, content: input.content }).catch(shortCodeTaken),
    );
  }

  async update(workspaceId: string, id: string, input: UpdateCannedResponseInput): Promise<CannedResponseView> {
    return this.db.run(workspaceId, async (tx) => {
      const row = await this.require(tx, id);
      const changes: Partial<Pick<CannedResponseEntity, 'shortCode' | 'content'>> = {};
      if (input.shortCode !== undefined) changes.shortCode = input.shortCode;
      if (input.content !== undefined) changes.content = input.content;
      await this.cannedResponses.update(tx, row.id, changes).catch(shortCodeTaken);
      return this.require(tx, row.id);
    });
  }

  async remove(workspaceId: string, id: string): Promise<void> {
    await this.db.run(workspaceId, async (tx) => {
      if (!isUuid(id) || !(await this.cannedResponses.delete(tx, id))) throw DomainError.notFound('canned_response');
    });
  }

  private async require(tx: TenantTx, id: string): Promise<CannedResponseEntity> {
    const row = isUuid(id) ? await this.cannedResponses.findById(tx, id) : null;
    if (!row) throw DomainError.notFound('canned_response');
    return row;
  }
}

function shortCodeTaken(error: unknown): never {
  if (uniqueViolation(error) === 'canned_responses_workspace_id_short_code_key') {
    throw DomainError.conflict('canned_response.short_code_taken', 'A canned response with this short code exists');
  }
  throw error;
}
