import { Injectable } from '@nestjs/common';
import { type ConversationStatus, decodeCursor, DomainError, isIsoTime, isUuid, type Page, pageOf, type Priority, uuidv7 } from '#domain';
import { TenantDb, type TenantTx } from '#database';
import { ContactsRepository } from '../contacts/contacts.repository.js';
import { EventWriter } from '../events/event-writer.js';
import { AssignmentRefsRepository } from './assignment-refs.repository.js';
import {
  type ConversationFilters,
  type ConversationPatch,
  type ConversationRow,
  ConversationsRepository,
} from './conversations.repository.js';
import { uniqueViolation } from './unique-violation.js';

export interface ConversationUpdate {
  status?: ConversationStatus;
  assigneeId?: string | null;
  teamId?: string | null;
  priority?: Priority;
  labels?: string[];
  /** A Date or an ISO 8601 time. */
  snoozedUntil?: Date | string | null;
}

/** The conversation list, and what agents change on a conversation: status, assignment, labels. */
@Injectable()
export class ConversationsService {
  constructor(
    private readonly db: TenantDb,
    private readonly conversations: ConversationsRepository,
    private readonly contacts: ContactsRepository,
    private readonly refs: AssignmentRefsRepository,
    private readonly events: EventWriter,
  ) {}

  async list(
    workspaceId: string,
    filters: ConversationFilters,
    page: { cursor?: string; limit: number },
  ): Promise<Page<ConversationRow>> {
    const after = decodeCursor(page.cursor, isIsoTime);
    const q = filters.q?.trim();
    const rows = await this.db.run(workspaceId, (tx) =>
      this.conversations.list(tx, { ...filters, q }, after, page.limit + 1),
    );
    return pageOf(rows, page.limit, (row) => ({ key: row.activityKey, id: row.id }));
  }

  async get(workspaceId: string, id: string): Promise<ConversationRow> {
    return this.db.run(workspaceId, (tx) => this.find(tx, id));
  }

  /** Opens a conversation with a contact, unless one is open already (one thread per relationship). */
  async open(workspaceId: string, contactId: string): Promise<ConversationRow> {
    return this.db.run(workspaceId, async (tx) => {
      const contact = isUuid(contactId) ? await this.contacts.findById(tx, contactId) : null;
      if (!contact) throw DomainError.notFound('contact');
      const open = await this.conversations.findOpenByContact(tx, contactId);
      if (open) throw alreadyOpen(open.id);
      const id = uuidv7();
      try {
        await this.conversations.insert(tx, { id, contactId, lastInboxId: null });
      } catch (error) {
        if (uniqueViolation(error) === 'conversations_one_open_per_contact') throw alreadyOpen(null);
        throw error;
      }
      await this.events.conversation(tx, 'conversation.created', id);
      return this.find(tx, id);
    });
  }

  async update(workspaceId: string, id: string, input: ConversationUpdate): Promise<ConversationRow> {
    return this.db.run(workspaceId, async (tx) => {
      const current = await this.find(tx, id);
      const patch = await this.patchFor(tx, current, input);
      if (current.status === 'resolved' && patch.status !== undefined && patch.status !== 'resolved') {
        const open = await this.conversations.findOpenByContact(tx, current.contactId);
        if (open) throw alreadyOpen(open.id);
      }
      try {
        await this.conversations.update(tx, id, patch);
      } catch (error) {
        if (uniqueViolation(error) === 'conversations_one_open_per_contact') throw alreadyOpen(null);
        throw error;
      }
      if (Object.keys(patch).length > 0) await this.events.conversation(tx, 'conversation.updated', id);
      return this.find(tx, id);
    });
  }

  private async find(tx: TenantTx, id: string): Promise<ConversationRow> {
    const row = isUuid(id) ? await this.conversations.findById(tx, id) : null;
    if (!row) throw DomainError.notFound('conversation');
    return row;
  }

  /** Checks every reference and the snooze rule, and turns the request into a patch. */
  private async patchFor(tx: TenantTx, current: ConversationRow, input: ConversationUpdate): Promise<ConversationPatch> {
    const patch: ConversationPatch = {};
    if (input.assigneeId !== undefined) {
      if (input.assigneeId !== null && !(isUuid(input.assigneeId) && (await this.refs.memberExists(tx, input.assigneeId)))) {
        throw unknownRef('member.not_found', 'assigneeId', 'is not a member of this workspace');
      }
      patch.assigneeId = input.assigneeId;
    }
    if (input.teamId !== undefined) {
      if (input.teamId !== null && !(isUuid(input.teamId) && (await this.refs.teamExists(tx, input.teamId)))) {
        throw unknownRef('team.not_found', 'teamId', 'is not a team of this workspace');
      }
      patch.teamId = input.teamId;
    }
    if (input.labels !== undefined) {
      const labels = [...new Set(input.labels)];
      const missing = await this.refs.missingLabels(tx, labels);
      if (missing.length > 0) throw unknownRef('label.not_found', 'labels', `has unknown labels: ${missing.join(', ')}`);
      patch.labels = labels;
    }
    if (input.priority !== undefined) patch.priority = input.priority;
    Object.assign(patch, conversationStatusPatch(current, input));
    return patch;
  }
}

/**
 * The status part of a patch. Snoozing needs a wake-up time in the future; leaving snoozed clears it;
 * resolving stamps resolved_at and reopening clears it.
 */
export function conversationStatusPatch(
  current: { status: ConversationStatus },
  input: { status?: ConversationStatus; snoozedUntil?: Date | string | null },
  now: Date = new Date(),
): ConversationPatch {
  const status = input.status ?? current.status;
  const patch: ConversationPatch = {};
  if (status === 'snoozed') {
    const until = typeof input.snoozedUntil === 'string' ? new Date(input.snoozedUntil) : input.snoozedUntil;
    const required = input.status === 'snoozed' && current.status !== 'snoozed';
    if ((required && !until) || until === null) {
      throw invalidField('snoozedUntil', 'snoozedUntil is required when status is snoozed');
    }
    if (until) {
      if (Number.isNaN(until.getTime())) throw invalidField('snoozedUntil', 'snoozedUntil must be an ISO 8601 time');
      if (until.getTime() <= now.getTime()) throw invalidField('snoozedUntil', 'snoozedUntil must be in the future');
      patch.snoozedUntil = until;
    }
  } else {
    if (input.snoozedUntil) throw invalidField('snoozedUntil', 'snoozedUntil is only allowed with status snoozed');
    if (current.status === 'snoozed') patch.snoozedUntil = null;
  }
  if (input.status !== undefined && input.status !== current.status) {
    patch.status = input.status;
    if (input.status === 'resolved') patch.resolved = true;
    else if (current.status === 'resolved') patch.resolved = false;
  }
  return patch;
}

function alreadyOpen(openId: string | null): DomainError {
  const which = openId ? ` (${openId})` : '';
  return DomainError.conflict('conversation.already_open', `The contact already has an open conversation${which}`);
}

function unknownRef(code: string, field: string, message: string): DomainError {
  return DomainError.invalid(code, `${field} ${message}`, [{ field, message: `${field} ${message}` }]);
}

function invalidField(field: string, message: string): DomainError {
  return DomainError.invalid('request.invalid', message, [{ field, message }]);
}
