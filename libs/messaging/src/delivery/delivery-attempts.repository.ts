import { Injectable } from '@nestjs/common';
import type { Channel } from '#domain';
import type { TenantTx } from '#database';
import { type AttemptStatus, OPEN_ATTEMPT_STATUSES } from './delivery-rules.js';

export interface NewAttempt {
  id: string;
  messageId: string;
  identityId: string | null;
  inboxId: string | null;
  channel: Channel;
}

export interface AttemptResult {
  status: AttemptStatus;
  providerMessageId: string | null;
  providerRequestId: string | null;
  responseCode: string | null;
  errorCode: string | null;
  error: string | null;
  latencyMs: number | null;
}

/** Queries of the delivery ledger: one row per try to deliver a message. */
@Injectable()
export class DeliveryAttemptsRepository {
  /** Recorded, and committed, before the provider is called: a crash during the call leaves it open. */
  async insertSending(tx: TenantTx, attempt: NewAttempt): Promise<void> {
    await tx.manager.query(
      `INSERT INTO delivery_attempts (id, workspace_id, message_id, identity_id, inbox_id, channel, status)
       VALUES ($1, $2, $3, $4, $5, $6, 'sending')`,
      [attempt.id, tx.workspaceId, attempt.messageId, attempt.identityId, attempt.inboxId, attempt.channel],
    );
  }

  /**
   * insertSending, unless the message has a try open already (one that another run of its job opened
   * and committed while this run waited for the message's lock): answers whether it was written.
   */
  async insertSendingIfNoneOpen(tx: TenantTx, attempt: NewAttempt): Promise<boolean> {
    return (await this.insertSendingManyIfNoneOpen(tx, [attempt])).has(attempt.id);
  }

  /** insertSendingIfNoneOpen of many attempts (of distinct messages) in one statement: the ids written. */
  async insertSendingManyIfNoneOpen(tx: TenantTx, attempts: NewAttempt[]): Promise<Set<string>> {
    if (attempts.length === 0) return new Set();
    const rows: Array<{ id: string }> = await tx.manager.query(
      `INSERT INTO delivery_attempts (id, workspace_id, message_id, identity_id, inbox_id, channel, status)
       SELECT n.id, $1, n.message_id, n.identity_id, n.inbox_id, n.channel, 'sending'
       FROM unnest((SELECT $2::uuid[]), (SELECT $3::uuid[]), (SELECT $4::uuid[]), (SELECT $5::uuid[]), (SELECT $6::text[]))
         AS n(id, message_id, identity_id, inbox_id, channel)
       -- A lateral lookup per message (LIMIT keeps it one): as NOT EXISTS it may become an anti-join
       -- over all of the workspace's attempts.
       LEFT JOIN LATERAL (
         SELECT 1 AS found FROM delivery_attempts a
         WHERE a.workspace_id = $1 AND a.message_id = n.message_id AND a.status = ANY((SELECT $7::text[])::text[]) LIMIT 1) o ON true
       WHERE o.found IS NULL
       RETURNING id`,
      [
        tx.workspaceId,
        attempts.map((a) => a.id),
        attempts.map((a) => a.messageId),
        attempts.map((a) => a.identityId),
        attempts.map((a) => a.inboxId),
        attempts.map((a) => a.channel),
        OPEN_ATTEMPT_STATUSES,
      ],
    );
    return new Set(rows.map((row) => row.id));
  }

  /** A try that never settled (the worker died during the call, or the call timed out), with its age. */
  async findOpen(tx: TenantTx, messageId: string): Promise<{ id: string; ageMs: number } | null> {
    const rows: Array<{ id: string; ageMs: number }> = await tx.manager.query(
      `SELECT id, (EXTRACT(EPOCH FROM clock_timestamp() - created_at) * 1000)::float8 AS "ageMs"
       FROM delivery_attempts
       WHERE workspace_id = $1 AND message_id = $2 AND status = ANY($3)
       ORDER BY created_at DESC, id DESC LIMIT 1`,
      [tx.workspaceId, messageId, OPEN_ATTEMPT_STATUSES],
    );
    return rows[0] ?? null;
  }

  /** A failure found before any provider call (no inbox, no identity): in the ledger all the same. */
  async insertFailed(tx: TenantTx, attempt: NewAttempt, errorCode: string, error: string): Promise<void> {
    await tx.manager.query(
      `INSERT INTO delivery_attempts (id, workspace_id, message_id, identity_id, inbox_id, channel, status, error_code, error)
       VALUES ($1, $2, $3, $4, $5, $6, 'failed', $7, $8)`,
      [attempt.id, tx.workspaceId, attempt.messageId, attempt.identityId, attempt.inboxId, attempt.channel, errorCode, error],
    );
  }

  async finish(tx: TenantTx, id: string, result: AttemptResult): Promise<void> {
    await tx.manager.query(
      `UPDATE delivery_attempts
       SET status = $3, provider_message_id = $4, provider_request_id = $5, response_code = $6, error_code = $7, error = $8, latency_ms = $9
       WHERE workspace_id = $1 AND id = $2`,
      [
        tx.workspaceId,
        id,
        result.status,
        result.providerMessageId,
        result.providerRequestId,
        result.responseCode,
        result.errorCode,
        result.error,
        result.latencyMs,
      ],
    );
  }

  /**
   * Closes the open tries of a message a receipt has settled: they did reach the provider (or it
   * failed them). `providerMessageId`, when known, goes on them (a later receipt finds its try by it).
   */
  async settleOpen(tx: TenantTx, messageId: string, status: 'sent' | 'failed', providerMessageId: string | null = null): Promise<void> {
    await tx.manager.query(
      `UPDATE delivery_attempts SET status = $3, provider_message_id = COALESCE(provider_message_id, $5)
       WHERE workspace_id = $1 AND message_id = $2 AND status = ANY($4)`,
      [tx.workspaceId, messageId, status, OPEN_ATTEMPT_STATUSES, providerMessageId],
    );
  }

  /** Closes an open try that got no receipt in time: the message is about to be sent again. */
  async markUnconfirmed(tx: TenantTx, id: string, reason: string): Promise<void> {
    await tx.manager.query(
      `UPDATE delivery_attempts SET status = 'unconfirmed', error_code = COALESCE(error_code, 'delivery.unconfirmed'), error = COALESCE(error, $3)
       WHERE workspace_id = $1 AND id = $2 AND status = ANY($4)`,
      [tx.workspaceId, id, reason, OPEN_ATTEMPT_STATUSES],
    );
  }
}
