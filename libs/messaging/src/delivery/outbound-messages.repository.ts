import { Injectable } from '@nestjs/common';
import type { Channel, MessageDirection, MessageStatus } from '#domain';
import type { TemplateRef, TenantTx } from '#database';
import { Outbox, type StagedJob } from '#queue';
import type { MessageRow } from '../messages/messages.repository.js';
import { OPEN_ATTEMPT_STATUSES } from './delivery-rules.js';

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

/**
 * What a send needs to decide and go, read in the one statement that locks the message: the order it
 * keeps, a try left open, the identity it goes to and its inbox (sealed secrets included).
 */
export interface ClaimRow extends OutboundRow {
  earlierQueuedId: string | null;
  openAttempt: { id: string; ageMs: number } | null;
  identity: { id: string; channel: Channel; externalId: string; lastInboundAt: Date | null; unsubscribedAt: Date | null } | null;
  /** Null when the inbox is deleted (or gone). */
  inbox: { id: string; name: string; channel: Channel; config: Record<string, unknown>; secrets: string | null } | null;
}

interface ClaimSqlRow extends OutboundRow {
  earlierQueuedId: string | null;
  openAttemptId: string | null;
  openAttemptAgeMs: number | null;
  ciId: string | null;
  ciChannel: Channel | null;
  ciExternalId: string | null;
  ciLastInboundAt: Date | null;
  ciUnsubscribedAt: Date | null;
  inboxName: string | null;
  inboxConfig: Record<string, unknown> | null;
  inboxSecrets: string | null;
  inboxDeleted: boolean | null;
}

/** The provider's acceptance of a send, as the fast settle writes it (see settleSentMany). */
export interface SentWrite {
  messageId: string;
  attemptId: string;
  identityId: string;
  externalId: string;
  providerRequestId: string | null;
  responseCode: string | null;
  latencyMs: number;
  email: { messageId: string; subject: string } | undefined;
}

/** The message as settleSentMany left it, whether anyone subscribes to its event, whether a later one waits. */
export interface SentRow {
  message: MessageRow;
  eventSubscribed: boolean;
  laterQueued: boolean;
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

  /**
   * The message locked until the transaction ends (as lockForSend), with everything its send decides
   * on, in one round trip. The parts beside the message row are read from the statement's snapshot,
   * which may predate a run of the same job that committed while this one waited for the lock: the
   * attempt insert (insertSendingIfNoneOpen) checks again, so a try is never opened twice.
   */
  async claimForSend(tx: TenantTx, id: string): Promise<ClaimRow | null> {
    return (await this.claimForSendMany(tx, [id])).get(id) ?? null;
  }

  /**
   * claimForSend of many messages in one statement, by id. Each is locked through its primary key,
   * one after the other in id order (two batches never deadlock), whatever the planner knows of the
   * tables (a join on the id list may become a scan of the workspace's messages). The id list is
   * read through a sub-select: one generic plan, not a new plan for every length of list.
   */
  async claimForSendMany(tx: TenantTx, ids: string[]): Promise<Map<string, ClaimRow>> {
    const rows: ClaimSqlRow[] = await tx.manager.query(
      `SELECT m.id, m.conversation_id AS "conversationId", m.direction, m.status, m.body, m.template,
              m.identity_id AS "identityId", m.inbox_id AS "inboxId", i.channel, m.external_id AS "externalId", m.fallback,
              q.id AS "earlierQueuedId", oa.id AS "openAttemptId", oa.age_ms AS "openAttemptAgeMs",
              ci.id AS "ciId", ci.channel AS "ciChannel", ci.external_id AS "ciExternalId",
              ci.last_inbound_at AS "ciLastInboundAt", ci.unsubscribed_at AS "ciUnsubscribedAt",
              i.name AS "inboxName", i.config AS "inboxConfig", i.secrets AS "inboxSecrets", (i.deleted_at IS NOT NULL) AS "inboxDeleted"
       FROM unnest((SELECT $2::uuid[])) WITH ORDINALITY AS k(id, n)
       CROSS JOIN LATERAL (SELECT * FROM messages x WHERE x.workspace_id = $1 AND x.id = k.id LIMIT 1 FOR UPDATE) m
       LEFT JOIN inboxes i ON i.workspace_id = m.workspace_id AND i.id = m.inbox_id
       LEFT JOIN contact_identities ci ON ci.workspace_id = m.workspace_id AND ci.id = m.identity_id
       LEFT JOIN LATERAL (
         SELECT e.id FROM messages e
         WHERE e.workspace_id = m.workspace_id AND e.conversation_id = m.conversation_id AND e.direction = 'out' AND e.status = 'queued' AND e.id < m.id
         ORDER BY e.id DESC LIMIT 1) q ON m.direction = 'out' AND m.status = 'queued'
       LEFT JOIN LATERAL (
         SELECT a.id, (EXTRACT(EPOCH FROM clock_timestamp() - a.created_at) * 1000)::float8 AS age_ms FROM delivery_attempts a
         WHERE a.workspace_id = m.workspace_id AND a.message_id = m.id AND a.status = ANY((SELECT $3::text[])::text[])
         ORDER BY a.created_at DESC, a.id DESC LIMIT 1) oa ON m.direction = 'out' AND m.status = 'queued'
       ORDER BY k.n`,
      [tx.workspaceId, [...ids].sort(), OPEN_ATTEMPT_STATUSES],
    );
    return new Map(rows.map((row) => [row.id, claimRow(row)]));
  }

  /**
   * The fast settle of sends their providers accepted, any number in one statement: each message goes
   * from queued to sent with the provider's id, its attempt records the answer, and it counts once
   * towards usage (`usages[i]`, a prepared `billing.usage` job for writes[i]: publish it after commit
   * when its row comes back). Only while a message is still queued on the identity its attempt went
   * to: otherwise (a receipt got there first, a hop moved it, it is gone) nothing of it is written and
   * it is missing from the answer, for the caller's general path. Answers, by message id, the row,
   * whether `message.updated` has a webhook subscriber, and whether a later message of the
   * conversation is queued (it may wait for this one).
   */
  async settleSentMany(tx: TenantTx, unsorted: SentWrite[], usages: Array<StagedJob<'billing.usage'>>): Promise<Map<string, SentRow>> {
    // Locked in id order (no deadlock between two batches), each through its primary key, then
    // updated by the row version just locked (its ctid): the plan never depends on table statistics.
    // The arrays are read through sub-selects, so the plan does not depend on their lengths either:
    // one generic plan is kept instead of a new plan for every batch.
    // A message changed since the statement began is not updated (the caller's general path decides).
    const usageOf = new Map(unsorted.map((write, i) => [write.messageId, usages[i]!]));
    const writes = [...unsorted].sort((a, b) => (a.messageId < b.messageId ? -1 : a.messageId > b.messageId ? 1 : 0));
    const rows: Array<MessageRow & { eventSubscribed: boolean; laterQueued: boolean }> = await tx.manager.query(
      `WITH s AS (
         SELECT * FROM unnest((SELECT $2::uuid[]), (SELECT $3::text[]), (SELECT $4::uuid[]), (SELECT $5::text[]), (SELECT $6::text[]), (SELECT $7::uuid[]),
                              (SELECT $8::text[]), (SELECT $9::text[]), (SELECT $10::int[]), (SELECT $11::uuid[]), (SELECT $12::jsonb[]))
           AS s(message_id, external_id, identity_id, email_message_id, email_subject, attempt_id, request_id, response_code, latency_ms, outbox_id, usage)),
       t AS (
         SELECT s.*, x.ctid AS message_tid, y.ctid AS attempt_tid FROM s
         -- By the primary key alone: with the state in the condition the planner may take the partial
         -- index of queued messages and walk all of the workspace's entries in it (LIMIT keeps it out).
         CROSS JOIN LATERAL (
           SELECT ctid, direction, status, identity_id FROM messages WHERE workspace_id = $1 AND id = s.message_id LIMIT 1 FOR UPDATE) x
         CROSS JOIN LATERAL (SELECT ctid FROM delivery_attempts WHERE workspace_id = $1 AND id = s.attempt_id FOR UPDATE) y
         WHERE x.direction = 'out' AND x.status = 'queued' AND x.identity_id = s.identity_id),
       m AS (
         UPDATE messages msg
         SET external_id = t.external_id, status = 'sent', email_message_id = COALESCE(t.email_message_id, msg.email_message_id),
             email_subject = COALESCE(t.email_subject, msg.email_subject), updated_at = now()
         FROM t
         WHERE msg.ctid = t.message_tid
         RETURNING msg.*),
       a AS (
         UPDATE delivery_attempts da
         SET status = 'sent', provider_message_id = t.external_id, provider_request_id = t.request_id, response_code = t.response_code,
             error_code = NULL, error = NULL, latency_ms = t.latency_ms
         FROM t JOIN m ON m.id = t.message_id
         WHERE da.ctid = t.attempt_tid),
       o AS (
         INSERT INTO outbox (id, workspace_id, job_name, payload)
         SELECT s.outbox_id, $1, 'billing.usage', s.usage FROM s JOIN m ON m.id = s.message_id)
       SELECT m.id, m.conversation_id AS "conversationId", m.direction, m.type, m.body, m.template, m.status,
              m.identity_id AS "identityId", m.inbox_id AS "inboxId", i.channel, m.sender_member_id AS "senderMemberId",
              m.external_id AS "externalId", m.fallback, m.error_code AS "errorCode", m.error_reason AS "errorReason",
              m.created_at AS "createdAt", m.updated_at AS "updatedAt",
              ferry_event_subscribed($1, 'message.updated') AS "eventSubscribed",
              EXISTS (SELECT 1 FROM messages l
                      WHERE l.workspace_id = $1 AND l.conversation_id = m.conversation_id AND l.direction = 'out' AND l.status = 'queued'
                        AND l.id > m.id) AS "laterQueued"
       FROM m LEFT JOIN inboxes i ON i.workspace_id = m.workspace_id AND i.id = m.inbox_id`,
      [
        tx.workspaceId,
        writes.map((w) => w.messageId),
        writes.map((w) => w.externalId),
        writes.map((w) => w.identityId),
        writes.map((w) => w.email?.messageId ?? null),
        writes.map((w) => w.email?.subject ?? null),
        writes.map((w) => w.attemptId),
        writes.map((w) => w.providerRequestId),
        writes.map((w) => w.responseCode),
        writes.map((w) => w.latencyMs),
        writes.map((w) => usageOf.get(w.messageId)!.id),
        writes.map((w) => usageOf.get(w.messageId)!.payload),
      ],
    );
    return new Map(rows.map(({ eventSubscribed, laterQueued, ...message }) => [message.id, { message, eventSubscribed, laterQueued }]));
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

function claimRow(row: ClaimSqlRow): ClaimRow {
  return {
    id: row.id,
    conversationId: row.conversationId,
    direction: row.direction,
    status: row.status,
    body: row.body,
    template: row.template,
    identityId: row.identityId,
    inboxId: row.inboxId,
    channel: row.channel,
    externalId: row.externalId,
    fallback: row.fallback,
    earlierQueuedId: row.earlierQueuedId,
    openAttempt: row.openAttemptId ? { id: row.openAttemptId, ageMs: row.openAttemptAgeMs ?? 0 } : null,
    identity: row.ciId
      ? { id: row.ciId, channel: row.ciChannel!, externalId: row.ciExternalId!, lastInboundAt: row.ciLastInboundAt, unsubscribedAt: row.ciUnsubscribedAt }
      : null,
    inbox:
      row.inboxId && row.channel && row.inboxDeleted === false
        ? { id: row.inboxId, name: row.inboxName!, channel: row.channel, config: row.inboxConfig ?? {}, secrets: row.inboxSecrets }
        : null,
  };
}
