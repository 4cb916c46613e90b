import { Injectable } from '@nestjs/common';
import type { Channel, MessageDirection, MessageStatus, MessageType } from '#domain';
import { DeliveryAttemptEntity, type MessageAttachment, MessageEntity, type TemplateRef, type TenantTx } from '#database';

/** A message with the channel of the inbox it travelled over. */
export interface MessageRow {
  id: string;
  conversationId: string;
  direction: MessageDirection;
  type: MessageType;
  body: string;
  template: TemplateRef | null;
  status: MessageStatus;
  identityId: string | null;
  inboxId: string | null;
  channel: Channel | null;
  senderMemberId: string | null;
  externalId: string | null;
  fallback: string[];
  errorCode: string | null;
  errorReason: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export interface NewMessage {
  id: string;
  conversationId: string;
  direction: MessageDirection;
  type: MessageType;
  body: string;
  template: TemplateRef | null;
  status: MessageStatus;
  identityId: string | null;
  inboxId: string | null;
  senderMemberId: string | null;
  externalId: string | null;
  fallback: string[];
  attachments?: MessageAttachment[];
  /** Email: the mail's Message-ID (threading) and subject. */
  emailMessageId?: string | null;
  emailSubject?: string | null;
}

export type MessageOrder = 'asc' | 'desc';

const SELECT_ROWS = `
  SELECT m.id, m.conversation_id AS "conversationId", m.direction, m.type, m.body, m.template, m.status,
         m.identity_id AS "identityId", m.inbox_id AS "inboxId", i.channel, m.sender_member_id AS "senderMemberId",
         m.external_id AS "externalId", m.fallback, m.error_code AS "errorCode", m.error_reason AS "errorReason",
         m.created_at AS "createdAt", m.updated_at AS "updatedAt"
  FROM messages m
  LEFT JOIN inboxes i ON i.workspace_id = m.workspace_id AND i.id = m.inbox_id`;

/** Queries of messages and their delivery ledger. */
@Injectable()
export class MessagesRepository {
  async findById(tx: TenantTx, id: string): Promise<MessageRow | null> {
    const rows: MessageRow[] = await tx.manager.query(`${SELECT_ROWS} WHERE m.workspace_id = $1 AND m.id = $2`, [tx.workspaceId, id]);
    return rows[0] ?? null;
  }

  /** The message a provider (or integrator) already gave us under this id: redeliveries are no-ops. */
  async findByExternalId(tx: TenantTx, inboxId: string, externalId: string): Promise<MessageRow | null> {
    const rows: MessageRow[] = await tx.manager.query(
      `${SELECT_ROWS} WHERE m.workspace_id = $1 AND m.inbox_id = $2 AND m.external_id = $3`,
      [tx.workspaceId, inboxId, externalId],
    );
    return rows[0] ?? null;
  }

  /** A page of the thread keyed on id (UUIDv7: creation order), either way round. */
  async listByConversation(
    tx: TenantTx,
    conversationId: string,
    options: { order: MessageOrder; afterId?: string; limit: number },
  ): Promise<MessageRow[]> {
    const params: unknown[] = [tx.workspaceId, conversationId];
    let keyset = '';
    if (options.afterId) {
      params.push(options.afterId);
      keyset = ` AND m.id ${options.order === 'asc' ? '>' : '<'} $${params.length}`;
    }
    params.push(options.limit);
    const direction = options.order === 'asc' ? 'ASC' : 'DESC';
    return tx.manager.query(
      `${SELECT_ROWS} WHERE m.workspace_id = $1 AND m.conversation_id = $2${keyset} ORDER BY m.id ${direction} LIMIT $${params.length}`,
      params,
    );
  }

  async insert(tx: TenantTx, message: NewMessage): Promise<MessageRow> {
    await tx.manager.insert(MessageEntity, { ...message, workspaceId: tx.workspaceId, errorCode: null, errorReason: null });
    const row = await this.findById(tx, message.id);
    if (!row) throw new Error(`message ${message.id} vanished after insert`);
    return row;
  }

  /** The conversations of the mails with these Message-IDs (email threading). */
  async findConversationsByEmailMessageIds(
    tx: TenantTx,
    emailMessageIds: string[],
  ): Promise<Array<{ emailMessageId: string; conversationId: string }>> {
    return tx.manager.query(
      `SELECT DISTINCT ON (m.email_message_id) m.email_message_id AS "emailMessageId", m.conversation_id AS "conversationId"
       FROM messages m WHERE m.workspace_id = $1 AND m.email_message_id = ANY($2::text[])
       ORDER BY m.email_message_id, m.id DESC`,
      [tx.workspaceId, emailMessageIds],
    );
  }

  /** The customer edited a message they sent (Telegram edited_message). */
  async updateBody(tx: TenantTx, id: string, body: string): Promise<void> {
    await tx.manager.update(MessageEntity, { workspaceId: tx.workspaceId, id }, { body });
  }

  async listAttempts(tx: TenantTx, messageId: string): Promise<DeliveryAttemptEntity[]> {
    return tx.manager.find(DeliveryAttemptEntity, {
      where: { workspaceId: tx.workspaceId, messageId },
      order: { createdAt: 'ASC', id: 'ASC' },
    });
  }
}
