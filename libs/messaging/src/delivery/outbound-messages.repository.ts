import { Injectable } from '@nestjs/common';
import type { Channel, MessageDirection, MessageStatus } from '#domain';
import type { TemplateRef, TenantTx } from '#database';
import { Outbox } from '#queue';

/** A message as delivery reads it, with the channel of its inbox (deleted inboxes included). */
export interface OutboundRow {
  id: string;
  conversationId: string;
  direction: MessageDirection;
  status: MessageStatus;
  body: string;
  template: TemplateRef | null;
  identityId: string | null;
  inboxId: string | null;
  channel: Channel | null;
  /** The provider's id of its current hop's send (null until sent). */
  externalId: string | null;
  /** The identities of its route after the first (see routeAhead in #domain). */
  fallback: string[];
}

export interface EmailThreadRow {
  direction: MessageDirection;
  emailMessageId: string;
  emailSubject: string | null;
}

/** The message-side queries of delivery: the row it locks, the order it keeps, the state it writes. */
@Injectable()
export class OutboundMessagesRepository {
  constructor(private readonly outbox: Outbox) {}

  /** The message, locked until the transaction ends: one run at a time claims or settles it. */
  async lockForSend(tx: TenantTx, id: string): Promise<OutboundRow | null> {
    const rows: OutboundRow[] = await tx.manager.query(
      `SELECT m.id, m.conversation_id AS "conversationId", m.direction, m.status, m.body, m.template,
              m.identity_id AS "identityId", m.inbox_id AS "inboxId", i.channel, m.external_id AS "externalId", m.fallback
       FROM messages m
       LEFT JOIN inboxes i ON i.workspace_id = m.workspace_id AND i.id = m.inbox_id
       WHERE m.workspace_id = $1 AND m.id = $2
       FOR UPDATE OF m`,
      [tx.workspaceId, id],
    );
    return rows[0] ?? null;
  }

  /** The latest message written before `id` in the conversation that is still waiting to go out. */
  async earlierQueued(tx: TenantTx, conversationId: string, id: string): Promise<string | null> {
    const rows: Array<{ id: string }> = await tx.manager.query(
      `SELECT id FROM messages
       WHERE workspace_id = $1 AND conversation_id = $2 AND direction = 'out' AND status = 'queued' AND id < $3
       ORDER BY id DESC LIMIT 1`,
      [tx.workspaceId, conversationId, id],
    );
    return rows[0]?.id ?? null;
  }

  /**
   * The provider's id from a delivery receipt that names this message (our id echoed back) and is
   * stored but not applied yet: proof that the provider took the message, whatever the status queue's
   * backlog. Only unapplied receipts are read (an applied one has already moved the message on).
   */
  async pendingReceipt(tx: TenantTx, id: string, inboxId: string | null): Promise<string | null> {
    // On the message's current inbox only: a late receipt of an earlier fallback hop is not this send's.
    const rows: Array<{ providerMessageId: string }> = await tx.manager.query(
      `SELECT event->>'providerMessageId' AS "providerMessageId" FROM inbound_events
       WHERE workspace_id = $1 AND processed_at IS NULL AND kind = 'status' AND event->>'messageId' = $2
         AND event->>'providerMessageId' IS NOT NULL AND inbox_id = $3
       ORDER BY received_at LIMIT 1`,
      [tx.workspaceId, id, inboxId],
    );
    return rows[0]?.providerMessageId ?? null;
  }

  /** The conversation's mails before `beforeId` (newest first): the subject and headers a reply threads by. */
  async emailThread(tx: TenantTx, conversationId: string, beforeId: string, limit = 20): Promise<EmailThreadRow[]> {
    return tx.manager.query(
      `SELECT direction, email_message_id AS "emailMessageId", email_subject AS "emailSubject"
       FROM messages
       WHERE workspace_id = $1 AND conversation_id = $2 AND email_message_id IS NOT NULL AND id < $3
       ORDER BY id DESC LIMIT $4`,
      [tx.workspaceId, conversationId, beforeId, limit],
    );
  }

  /** LINE: takes the identity's reply token if it is still fresh (it works once, so it is cleared). */
  async takeReplyToken(tx: TenantTx, identityId: string, freshForMs: number): Promise<string | null> {
    // Wrapped in a SELECT: TypeORM answers a bare UPDATE ... RETURNING as [rows, count].
    const rows: Array<{ token: string }> = await tx.manager.query(
      `WITH old AS (
         SELECT id, reply_token FROM contact_identities
         WHERE workspace_id = $1 AND id = $2 AND reply_token IS NOT NULL
           AND reply_token_expires_at > clock_timestamp() + make_interval(secs => $3)
         FOR UPDATE),
       taken AS (
         UPDATE contact_identities ci SET reply_token = NULL, reply_token_expires_at = NULL
         FROM old WHERE ci.workspace_id = $1 AND ci.id = old.id
         RETURNING old.reply_token AS token)
       SELECT token FROM taken`,
      [tx.workspaceId, identityId, freshForMs / 1000],
    );
    return rows[0]?.token ?? null;
  }

  /**
   * Records the provider's id (receipts are matched by it) and, when `advance`, moves the message
   * to sent; an email also keeps its Message-ID and subject, which the customer's reply threads by.
   */
  async markSent(tx: TenantTx, id: string, externalId: string, advance: boolean, email?: { messageId: string; subject: string }): Promise<void> {
    await tx.manager.query(
      `UPDATE messages
       SET external_id = $3, status = CASE WHEN $4 THEN 'sent' ELSE status END,
           email_message_id = COALESCE($5, email_message_id), email_subject = COALESCE($6, email_subject), updated_at = now()
       WHERE workspace_id = $1 AND id = $2`,
      [tx.workspaceId, id, externalId, advance, email?.messageId ?? null, email?.subject ?? null],
    );
    if (advance) await countSent(this.outbox, tx, id);
  }

  async markFailed(tx: TenantTx, id: string, errorCode: string, errorReason: string): Promise<void> {
    await tx.manager.query(
      `UPDATE messages SET status = 'failed', error_code = $3, error_reason = $4, updated_at = now()
       WHERE workspace_id = $1 AND id = $2`,
      [tx.workspaceId, id, errorCode, errorReason.slice(0, 2000)],
    );
  }
}

/**
 * A message that left for the provider counts once towards the workspace's usage: a `billing.usage`
 * job in the same transaction (billing consumes it; messaging never calls billing).
 */
export async function countSent(outbox: Outbox, tx: TenantTx, messageId: string): Promise<void> {
  await outbox.write(tx, 'billing.usage', { workspaceId: tx.workspaceId, messageId });
}
