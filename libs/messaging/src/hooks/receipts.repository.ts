import { Injectable } from '@nestjs/common';
import type { MessageStatus } from '#domain';
import type { TenantTx } from '#database';
import { OPEN_ATTEMPT_STATUSES } from '../delivery/delivery-rules.js';

/** An outbound message as a delivery receipt sees it. */
export interface ReceiptTarget {
  id: string;
  status: MessageStatus;
  externalId: string | null;
  /** The identity and inbox of its current hop. */
  identityId: string | null;
  inboxId: string | null;
}

/** The attempt a receipt is about (its hop: identity and inbox). */
export interface ReceiptAttempt {
  id: string;
  open: boolean;
  receiptStatus: MessageStatus | null;
  identityId: string | null;
  inboxId: string | null;
  providerMessageId: string | null;
}

const SELECT_TARGET = `SELECT m.id, m.status, m.external_id AS "externalId", m.identity_id AS "identityId", m.inbox_id AS "inboxId" FROM messages m`;

/** The queries of delivery receipts: the message they are about, its status, and the attempt that sent it. */
@Injectable()
export class ReceiptsRepository {
  /** Our outbound message by its id (a provider that echoes it back), locked until the transaction ends. */
  async lockOutboundById(tx: TenantTx, id: string): Promise<ReceiptTarget | null> {
    const rows: ReceiptTarget[] = await tx.manager.query(
      `${SELECT_TARGET} WHERE m.workspace_id = $1 AND m.id = $2 AND m.direction = 'out' FOR UPDATE`,
      [tx.workspaceId, id],
    );
    return rows[0] ?? null;
  }

  /**
   * Our outbound message by the provider's id on this inbox, locked: the message's own (its latest
   * send), else one of its delivery attempts' (an earlier hop).
   */
  async lockOutboundByProviderId(tx: TenantTx, inboxId: string, providerMessageId: string): Promise<ReceiptTarget | null> {
    const rows: ReceiptTarget[] = await tx.manager.query(
      `${SELECT_TARGET} WHERE m.workspace_id = $1 AND m.inbox_id = $2 AND m.external_id = $3 AND m.direction = 'out' FOR UPDATE`,
      [tx.workspaceId, inboxId, providerMessageId],
    );
    if (rows[0]) return rows[0];
    const viaAttempt: ReceiptTarget[] = await tx.manager.query(
      `${SELECT_TARGET} WHERE m.workspace_id = $1 AND m.direction = 'out' AND m.id = (
         SELECT a.message_id FROM delivery_attempts a
         WHERE a.workspace_id = $1 AND a.inbox_id = $2 AND a.provider_message_id = $3 LIMIT 1)
       FOR UPDATE`,
      [tx.workspaceId, inboxId, providerMessageId],
    );
    return viaAttempt[0] ?? null;
  }

  /** Moves the message to `status`; a failure keeps the provider's code and reason. */
  async setStatus(tx: TenantTx, id: string, status: MessageStatus, error?: { code: string; reason: string }): Promise<void> {
    await tx.manager.query(
      `UPDATE messages SET status = $3, error_code = COALESCE($4, error_code), error_reason = COALESCE($5, error_reason), updated_at = now()
       WHERE workspace_id = $1 AND id = $2`,
      [tx.workspaceId, id, status, error?.code ?? null, error?.reason.slice(0, 2000) ?? null],
    );
  }

  /** A send left in doubt learns the provider's id from the receipt (matched by our id). */
  async setExternalIdIfMissing(tx: TenantTx, id: string, externalId: string): Promise<void> {
    await tx.manager.query(`UPDATE messages SET external_id = $3 WHERE workspace_id = $1 AND id = $2 AND external_id IS NULL`, [
      tx.workspaceId,
      id,
      externalId,
    ]);
  }

  /**
   * The attempt a receipt is about: the one that got this provider id, else an attempt still open
   * (sent, but its answer never recorded: the receipt settles it as sent), on the inbox the receipt
   * came to (an open try of another hop is not this one). Null when neither exists.
   */
  async lockAttemptForReceipt(
    tx: TenantTx,
    messageId: string,
    providerMessageId: string,
    inboxId: string,
  ): Promise<ReceiptAttempt | null> {
    const rows: ReceiptAttempt[] = await tx.manager.query(
      `SELECT id, provider_message_id IS DISTINCT FROM $3 AS open, receipt_status AS "receiptStatus",
              identity_id AS "identityId", inbox_id AS "inboxId", provider_message_id AS "providerMessageId"
       FROM delivery_attempts
       WHERE workspace_id = $1 AND message_id = $2 AND inbox_id = $5
         AND (provider_message_id = $3 OR (provider_message_id IS NULL AND status = ANY($4)))
       ORDER BY (provider_message_id = $3) DESC NULLS LAST, created_at DESC, id DESC
       LIMIT 1 FOR UPDATE`,
      [tx.workspaceId, messageId, providerMessageId, OPEN_ATTEMPT_STATUSES, inboxId],
    );
    return rows[0] ?? null;
  }

  /** Records the receipt on the attempt; an open attempt is settled as sent with the provider's id. */
  async recordReceipt(
    tx: TenantTx,
    attemptId: string,
    receipt: { status: MessageStatus | null; at: Date; providerMessageId: string; settleOpen: boolean },
  ): Promise<void> {
    await tx.manager.query(
      `UPDATE delivery_attempts
       SET receipt_status = COALESCE($3, receipt_status), receipt_at = CASE WHEN $3 IS NULL THEN receipt_at ELSE $4 END,
           status = CASE WHEN $6 THEN 'sent' ELSE status END,
           provider_message_id = CASE WHEN $6 THEN $5 ELSE provider_message_id END
       WHERE workspace_id = $1 AND id = $2`,
      [tx.workspaceId, attemptId, receipt.status, receipt.at, receipt.providerMessageId, receipt.settleOpen],
    );
  }
}
