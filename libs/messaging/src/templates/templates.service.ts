import { Injectable } from '@nestjs/common';
import { decodeCursor, DomainError, isUuid, type Page, pageOf, uuidv7 } from '#domain';
import { type MessageTemplateEntity, type TemplateCategory, type TemplateRef, type TemplateStatus, TenantDb, type TenantTx } from '#database';
import { uniqueViolation } from '../conversations/unique-violation.js';
import { InboxesRepository } from '../inboxes/inboxes.repository.js';
import { placeholdersOf, renderTemplate } from './template-body.js';
import { type TemplatePatch, TemplatesRepository } from './templates.repository.js';

export type TemplateView = MessageTemplateEntity;

export interface CreateTemplateInput {
  name: string;
  language: string;
  category?: TemplateCategory | null;
  /** Default approved: a manual template is one the business may send. */
  status?: TemplateStatus;
  body: string;
}

export type UpdateTemplateInput = Partial<CreateTemplateInput>;

const isSortKey = (key: string): boolean => key.length > 0 && key.length <= 512;

/** An inbox's message templates: listed, kept by hand, and checked when a message names one. */
@Injectable()
export class TemplatesService {
  constructor(
    private readonly db: TenantDb,
    private readonly templates: TemplatesRepository,
    private readonly inboxes: InboxesRepository,
  ) {}

  async list(
    workspaceId: string,
    inboxId: string,
    page: { limit: number; cursor?: string | undefined; status?: TemplateStatus | undefined },
  ): Promise<Page<TemplateView>> {
    const after = decodeCursor(page.cursor, isSortKey);
    return this.db.run(workspaceId, async (tx) => {
      await this.inbox(tx, inboxId);
      const rows = await this.templates.listByInbox(tx, inboxId, {
        status: page.status,
        after: after ? { name: after.key, id: after.id } : null,
        take: page.limit + 1,
      });
      return pageOf(rows, page.limit, (row) => ({ key: row.name, id: row.id }));
    });
  }

  async create(workspaceId: string, inboxId: string, input: CreateTemplateInput): Promise<TemplateView> {
    const parameterCount = parameterCountOf(input.body);
    return this.db.run(workspaceId, async (tx) => {
      await this.inbox(tx, inboxId);
      return this.templates
        .insert(tx, {
          id: uuidv7(),
          inboxId,
          name: input.name,
          language: input.language,
          category: input.category ?? null,
          status: input.status ?? 'approved',
          body: input.body,
          components: [],
          parameterCount,
        })
        .catch(nameTaken);
    });
  }

  /** Changes a manual template; the provider's are changed at the provider, then synced. */
  async update(workspaceId: string, inboxId: string, id: string, input: UpdateTemplateInput): Promise<TemplateView> {
    return this.db.run(workspaceId, async (tx) => {
      const template = await this.require(tx, inboxId, id);
      if (template.source === 'provider') {
        throw DomainError.conflict('template.provider_managed', "This template is the provider's: change it there, then sync the inbox's templates");
      }
      const changes: TemplatePatch = {};
      if (input.name !== undefined) changes.name = input.name;
      if (input.language !== undefined) changes.language = input.language;
      if (input.category !== undefined) changes.category = input.category;
      if (input.status !== undefined) changes.status = input.status;
      if (input.body !== undefined) {
        changes.body = input.body;
        changes.parameterCount = parameterCountOf(input.body);
      }
      if (Object.keys(changes).length > 0) await this.templates.update(tx, template.id, changes).catch(nameTaken);
      return this.require(tx, inboxId, template.id);
    });
  }

  /** A provider template deleted here comes back with the next sync while the provider still lists it. */
  async remove(workspaceId: string, inboxId: string, id: string): Promise<void> {
    await this.db.run(workspaceId, async (tx) => {
      await this.inbox(tx, inboxId);
      if (!isUuid(id) || !(await this.templates.delete(tx, inboxId, id))) throw DomainError.notFound('template');
    });
  }

  /**
   * Inside a send's transaction: the template must be an approved one of the inbox, in that language,
   * given exactly its number of parameters. Answers the text the customer will read.
   */
  async renderForSend(tx: TenantTx, inboxId: string, ref: TemplateRef): Promise<string> {
    const template = await this.templates.findByName(tx, inboxId, ref.name, ref.language);
    if (!template || template.status !== 'approved') {
      const why = !template ? 'has no template' : `has the template only as ${template.status}, not approved,`;
      throw DomainError.invalid('template.not_found', `The inbox ${why} named ${ref.name} in ${ref.language}`, [
        { field: 'template.name', message: `no approved template ${ref.name} (${ref.language}) in the inbox this message leaves by` },
      ]);
    }
    if (ref.parameters.length !== template.parameterCount) {
      throw DomainError.invalid('template.invalid_parameters', `The template ${ref.name} takes ${template.parameterCount} parameters`, [
        { field: 'template.parameters', message: `must have exactly ${template.parameterCount} values (got ${ref.parameters.length})` },
      ]);
    }
    return renderTemplate(template.body, ref.parameters);
  }

  private async inbox(tx: TenantTx, inboxId: string): Promise<void> {
    if (!isUuid(inboxId) || !(await this.inboxes.findById(tx, inboxId))) throw DomainError.notFound('inbox');
  }

  private async require(tx: TenantTx, inboxId: string, id: string): Promise<MessageTemplateEntity> {
    await this.inbox(tx, inboxId);
    const template = isUuid(id) ? await this.templates.findById(tx, inboxId, id) : null;
    if (!template) throw DomainError.notFound('template');
    return template;
  }
}

function parameterCountOf(body: string): number {
  const check = placeholdersOf(body);
  if (!check.ok) throw DomainError.invalid('request.invalid', 'The request has invalid fields', [{ field: 'body', message: check.problem }]);
  return check.parameterCount;
}

function nameTaken(error: unknown): never {
  if (uniqueViolation(error) === 'message_templates_name_key') {
    throw DomainError.conflict('template.name_taken', 'The inbox has a template with this name in this language');
  }
  throw error;
}
