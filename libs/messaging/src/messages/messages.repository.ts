import { Injectable } from '@nestjs/common';
import type { Channel, MessageDirection, MessageStatus, MessageType } from '#domain';
import { DeliveryAttemptEntity, type MessageAttachment, MessageEntity, type TemplateRef, type TenantTx } from '#database';
import type { StagedJob } from '#queue';

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

/** An agent's plain text reply, queued on its first identity. */
export interface NewReply {
  id: string;
  conversationId: string;
  body: string;
  identityId: string;
  inboxId: string;
  senderMemberId: string | null;
  fallback: string[];
}

export type MessageOrder = 'asc' | 'desc';

const ROW_OF_M = `
  SELECT m.id, m.conversation_id AS "conversationId", m.direction, m.type, m.body, m.template, m.status,
         m.identity_id AS "identityId", m.inbox_id AS "inboxId", i.channel, m.sender_member_id AS "senderMemberId",
         m.external_id AS "externalId", m.fallback, m.error_code AS "errorCode", m.error_reason AS "errorReason",
         m.created_at AS "createdAt", m.updated_at AS "updatedAt"`;

const SELECT_ROWS = `${ROW_OF_M}
  FROM messages m
  LEFT JOIN inboxes i ON i.workspace_id = m.workspace_id AND i.id = m.inbox_id`;

/** What else changes with a new message, in the same statement. */
export interface MessageEffects {
  /** The conversation's last inbox (inbound: the inbox the customer wrote on). */
  lastInboxId?: string;
  /** The identity the customer just wrote from: its last_inbound_at becomes now (their window opens). */
  inboundIdentityId?: string;
  /** An outbox job (prepared by Outbox.prepare) written with the message. */
  job?: StagedJob;
}

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

  /**
   * Which of these (inbox, provider message id) pairs are stored already, as `${inboxId} ${externalId}`.
   * (`external_id IS NOT NULL` lets the planner use the partial unique index for the join.)
   */
  async findExternalIds(tx: TenantTx, pairs: Array<{ inboxId: string; externalId: string }>): Promise<Set<string>> {
    const rows: Array<{ key: string }> = await tx.manager.query(
      `SELECT m.inbox_id || ' ' || m.external_id AS key FROM messages m
       JOIN unnest($2::uuid[], $3::text[]) AS p(inbox_id, external_id) ON m.inbox_id = p.inbox_id AND m.external_id = p.external_id
       WHERE m.workspace_id = $1 AND m.external_id IS NOT NULL`,
      [tx.workspaceId, pairs.map((pair) => pair.inboxId), pairs.map((pair) => pair.externalId)],
    );
    return new Set(rows.map((row) => row.key));
  }

  /**
   * Customers' messages into conversations that exist, in one statement, with what insertWithEffects
   * does for each (the conversation's activity and last inbox: its newest message's; the identity's
   * last inbound time). Rows answered in id order.
   */
  async insertInboundMany(
    tx: TenantTx,
    messages: Array<{ id: string; conversationId: string; identityId: string; inboxId: string; externalId: string; body: string; attachments: MessageAttachment[] }>,
  ): Promise<MessageRow[]> {
    return tx.manager.query(
      `WITH t AS (
         SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::uuid[], $5::uuid[], $6::text[], $7::text[], $8::jsonb[])
                AS t(id, conversation_id, identity_id, inbox_id, external_id, body, attachments)),
       m AS (
         INSERT INTO messages (workspace_id, id, conversation_id, direction, type, body, status, identity_id, inbox_id, external_id, fallback, attachments)
         SELECT $1, id, conversation_id, 'in', 'text', body, 'received', identity_id, inbox_id, external_id, '{}', attachments FROM t ORDER BY id
         RETURNING *),
       c AS (
         UPDATE conversations c SET last_activity_at = now(), updated_at = now(), last_inbox_id = n.inbox_id
         FROM (SELECT DISTINCT ON (conversation_id) conversation_id, inbox_id FROM t ORDER BY conversation_id, id DESC) n
         WHERE c.workspace_id = $1 AND c.id = n.conversation_id),
       ci AS (UPDATE contact_identities SET last_inbound_at = now() WHERE workspace_id = $1 AND id IN (SELECT identity_id FROM t))
       ${ROW_OF_M} FROM m LEFT JOIN inboxes i ON i.workspace_id = m.workspace_id AND i.id = m.inbox_id ORDER BY m.id`,
      [
        tx.workspaceId,
        messages.map((m) => m.id),
        messages.map((m) => m.conversationId),
        messages.map((m) => m.identityId),
        messages.map((m) => m.inboxId),
        messages.map((m) => m.externalId),
        messages.map((m) => m.body),
        messages.map((m) => JSON.stringify(m.attachments)),
      ],
    );
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

  /**
   * Writes the message, bumps its conversation's activity, and writes `effects`, in one statement (one
   * round trip on the hot paths: a reply and its send job, a customer's message and their window);
   * answers the message as findById does.
   */
  async insertWithEffects(tx: TenantTx, message: NewMessage, effects: MessageEffects = {}): Promise<MessageRow> {
    return (await this.insertReading(tx, message, effects, null)).message;
  }

  /**
   * insertWithEffects, also answering whether an enabled webhook endpoint subscribes to `eventType`
   * (ferry_event_subscribed, read in the same statement): for EventWriter.messageWritten.
   */
  async insertWithEffectsAndSubscription(
    tx: TenantTx,
    message: NewMessage,
    effects: MessageEffects,
    eventType: 'message.created',
  ): Promise<{ message: MessageRow; eventSubscribed: boolean }> {
    const { message: row, eventSubscribed } = await this.insertReading(tx, message, effects, eventType);
    return { message: row, eventSubscribed: eventSubscribed ?? false };
  }

  /**
   * Agents' plain replies (queued, each with its prepared `message.send` job) in one statement: the
   * messages, their jobs' outbox rows, their conversations' activity, and whether an enabled endpoint
   * subscribes to message.created. Rows answered in the order given.
   */
  async insertRepliesWithJobs(
    tx: TenantTx,
    replies: Array<{ message: NewReply; job: StagedJob }>,
  ): Promise<{ messages: MessageRow[]; eventSubscribed: boolean }> {
    const rows: Array<MessageRow & { eventSubscribed: boolean }> = await tx.manager.query(
      `WITH t AS (
         SELECT * FROM unnest($2::uuid[], $3::uuid[], $4::text[], $5::uuid[], $6::uuid[], $7::uuid[], $8::jsonb[], $9::uuid[], $10::jsonb[])
                AS t(id, conversation_id, body, identity_id, inbox_id, sender_member_id, fallback, job_id, job_payload)),
       m AS (
         INSERT INTO messages (workspace_id, id, conversation_id, direction, type, body, status, identity_id, inbox_id, sender_member_id, fallback, attachments)
         SELECT $1, id, conversation_id, 'out', 'text', body, 'queued', identity_id, inbox_id, sender_member_id,
                ARRAY(SELECT jsonb_array_elements_text(fallback))::uuid[], '[]'::jsonb
         FROM t ORDER BY id
         RETURNING *),
       c AS (
         UPDATE conversations SET last_activity_at = now(), updated_at = now()
         WHERE workspace_id = $1 AND id IN (SELECT conversation_id FROM t)),
       o AS (INSERT INTO outbox (id, workspace_id, job_name, payload) SELECT job_id, $1, 'message.send', job_payload FROM t)
       ${ROW_OF_M}, ferry_event_subscribed($1, 'message.created') AS "eventSubscribed"
       FROM m LEFT JOIN inboxes i ON i.workspace_id = m.workspace_id AND i.id = m.inbox_id`,
      [
        tx.workspaceId,
        replies.map(({ message }) => message.id),
        replies.map(({ message }) => message.conversationId),
        replies.map(({ message }) => message.body),
        replies.map(({ message }) => message.identityId),
        replies.map(({ message }) => message.inboxId),
        replies.map(({ message }) => message.senderMemberId),
        replies.map(({ message }) => JSON.stringify(message.fallback)),
        replies.map(({ job }) => job.id),
        replies.map(({ job }) => job.payload),
      ],
    );
    const byId = new Map(rows.map(({ eventSubscribed: _, ...row }) => [row.id, row]));
    const messages = replies.map(({ message }) => {
      const row = byId.get(message.id);
      if (!row) throw new Error(`message ${message.id} vanished after insert`);
      return row;
    });
    return { messages, eventSubscribed: rows[0]?.eventSubscribed ?? false };
  }

  private async insertReading(
    tx: TenantTx,
    message: NewMessage,
    effects: MessageEffects,
    eventType: string | null,
  ): Promise<{ message: MessageRow; eventSubscribed: boolean | undefined }> {
    const params: unknown[] = [
      tx.workspaceId,
      message.id,
      message.conversationId,
      message.direction,
      message.type,
      message.body,
      message.template === null ? null : JSON.stringify(message.template),
      message.status,
      message.identityId,
      message.inboxId,
      message.senderMemberId,
      message.externalId,
      message.fallback,
      message.attachments ? JSON.stringify(message.attachments) : null,
      message.emailMessageId ?? null,
      message.emailSubject ?? null,
    ];
    const add = (value: unknown): string => `$${params.push(value)}`;
    const ctes = [
      `m AS (
        INSERT INTO messages (workspace_id, id, conversation_id, direction, type, body, template, status, identity_id, inbox_id,
                              sender_member_id, external_id, fallback, attachments, email_message_id, email_subject)
        VALUES ($1, $2, $3, $4, $5, $6, $7::jsonb, $8, $9, $10, $11, $12, $13::uuid[], COALESCE($14::jsonb, '[]'::jsonb), $15, $16)
        RETURNING *)`,
      `c AS (
        UPDATE conversations SET last_activity_at = now(), updated_at = now()${effects.lastInboxId ? `, last_inbox_id = ${add(effects.lastInboxId)}` : ''}
        WHERE workspace_id = $1 AND id = $3)`,
    ];
    if (effects.inboundIdentityId) {
      ctes.push(`ci AS (UPDATE contact_identities SET last_inbound_at = now() WHERE workspace_id = $1 AND id = ${add(effects.inboundIdentityId)})`);
    }
    if (effects.job) {
      const { id, jobName, payload } = effects.job;
      ctes.push(`o AS (INSERT INTO outbox (id, workspace_id, job_name, payload) VALUES (${add(id)}, $1, ${add(jobName)}, ${add(payload)}::jsonb))`);
    }
    const subscribed = eventType ? `, ferry_event_subscribed($1, ${add(eventType)}) AS "eventSubscribed"` : '';
    const rows: Array<MessageRow & { eventSubscribed?: boolean }> = await tx.manager.query(
      `WITH ${ctes.join(',\n')}
       ${ROW_OF_M}${subscribed} FROM m LEFT JOIN inboxes i ON i.workspace_id = m.workspace_id AND i.id = m.inbox_id`,
      params,
    );
    if (!rows[0]) throw new Error(`message ${message.id} vanished after insert`);
    const { eventSubscribed, ...row } = rows[0];
    return { message: row, eventSubscribed };
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
