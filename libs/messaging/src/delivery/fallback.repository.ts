import { Injectable } from '@nestjs/common';
import type { FallbackReason, MessageStatus } from '#domain';
import type { TenantTx } from '#database';
import { OPEN_ATTEMPT_STATUSES } from './delivery-rules.js';

/** An attempt as the fallback rules read it. */
export interface HopAttempt {
  id: string;
  identityId: string | null;
  inboxId: string | null;
  providerMessageId: string | null;
  receiptStatus: MessageStatus | null;
}

/** An attempt as the deadline check reads it: with whether its deadline was decided already. */
export interface DeadlineAttempt extends HopAttempt {
  /** When the check found this hop current and undelivered at its deadline and decided (null: not yet). */
  fallbackCheckedAt: Date | null;
}

const SELECT_ATTEMPT = `SELECT id, identity_id AS "identityId", inbox_id AS "inboxId", provider_message_id AS "providerMessageId",
                               receipt_status AS "receiptStatus"
                        FROM delivery_attempts`;

/** The queries of fallback hops: moving a message along its route, and the workspace's default policy. */
@Injectable()
export class FallbackRepository {
  async findAttempt(tx: TenantTx, id: string): Promise<DeadlineAttempt | null> {
    const rows: DeadlineAttempt[] = await tx.manager.query(
      `SELECT id, identity_id AS "identityId", inbox_id AS "inboxId", provider_message_id AS "providerMessageId",
              receipt_status AS "receiptStatus", fallback_checked_at AS "fallbackCheckedAt"
       FROM delivery_attempts WHERE workspace_id = $1 AND id = $2`,
      [tx.workspaceId, id],
    );
    return rows[0] ?? null;
  }

  /** The latest attempt of the message on this identity (the hop being left), if any. */
  async latestOnIdentity(tx: TenantTx, messageId: string, identityId: string | null): Promise<HopAttempt | null> {
    const rows: HopAttempt[] = await tx.manager.query(
      `${SELECT_ATTEMPT} WHERE workspace_id = $1 AND message_id = $2 AND identity_id IS NOT DISTINCT FROM $3
       ORDER BY created_at DESC, id DESC LIMIT 1`,
      [tx.workspaceId, messageId, identityId],
    );
    return rows[0] ?? null;
  }

  /**
   * Whether a delivery receipt for this send is stored but not applied yet (the status queue has a
   * backlog): the customer has it, so the deadline must not send it again elsewhere.
   */
  async deliveredPending(tx: TenantTx, inboxId: string | null, providerMessageId: string | null): Promise<boolean> {
    if (!inboxId || !providerMessageId) return false;
    const rows: unknown[] = await tx.manager.query(
      `SELECT 1 FROM inbound_events
       WHERE workspace_id = $1 AND processed_at IS NULL AND kind = 'status' AND inbox_id = $2
         AND event->>'providerMessageId' = $3 AND event->>'status' IN ('delivered', 'read')
       LIMIT 1`,
      [tx.workspaceId, inboxId, providerMessageId],
    );
    return rows.length > 0;
  }

  /**
   * Records on the attempt that its deadline check has decided (went on, stayed for want of a next
   * identity, or left it to a delivered receipt still in the backlog), in the decision's transaction:
   * the relay's recovery revives only checks not decided yet (ferry_outbox_stalled), and a second run
   * of the check stops (deadlineDecision). The first decision's time is kept.
   */
  async markChecked(tx: TenantTx, attemptId: string): Promise<void> {
    await tx.manager.query(
      `UPDATE delivery_attempts SET fallback_checked_at = now() WHERE workspace_id = $1 AND id = $2 AND fallback_checked_at IS NULL`,
      [tx.workspaceId, attemptId],
    );
  }

  /** Says on the attempt why the message went on to the next identity. */
  async markLeft(tx: TenantTx, attemptId: string, reason: FallbackReason): Promise<void> {
    await tx.manager.query(`UPDATE delivery_attempts SET fallback_reason = $3 WHERE workspace_id = $1 AND id = $2`, [tx.workspaceId, attemptId, reason]);
  }

  /**
   * Closes the tries of the hop being left that are still open (in doubt): the next hop must not wait
   * for their receipt, which, if it comes, is recorded on them as an earlier hop's.
   */
  async closeOpen(tx: TenantTx, messageId: string): Promise<void> {
    await tx.manager.query(
      `UPDATE delivery_attempts SET status = 'unconfirmed', error_code = COALESCE(error_code, 'delivery.unconfirmed'),
              error = COALESCE(error, 'No answer recorded before the message went on to the next identity')
       WHERE workspace_id = $1 AND message_id = $2 AND status = ANY($3)`,
      [tx.workspaceId, messageId, OPEN_ATTEMPT_STATUSES],
    );
  }

  /**
   * Puts the message on its next identity, queued: the one backward status move there is, made only
   * here, by the worker. The provider id and error of the hop left behind stay on its attempts; a
   * template travels on as its rendered text (the body), as templates belong to one inbox.
   */
  async moveToHop(tx: TenantTx, messageId: string, identityId: string, inboxId: string): Promise<void> {
    await tx.manager.query(
      `UPDATE messages SET identity_id = $3, inbox_id = $4, status = 'queued', external_id = NULL, template = NULL,
              error_code = NULL, error_reason = NULL, updated_at = now()
       WHERE workspace_id = $1 AND id = $2`,
      [tx.workspaceId, messageId, identityId, inboxId],
    );
  }

  /** An earlier hop reported delivery: the message is delivered via that hop (see receiptEffect in #domain). */
  async adopt(tx: TenantTx, messageId: string, attempt: HopAttempt, status: 'delivered' | 'read'): Promise<void> {
    await tx.manager.query(
      `UPDATE messages SET identity_id = $3, inbox_id = $4, external_id = $5, status = $6, error_code = NULL, error_reason = NULL, updated_at = now()
       WHERE workspace_id = $1 AND id = $2`,
      [tx.workspaceId, messageId, attempt.identityId, attempt.inboxId, attempt.providerMessageId, status],
    );
  }

  /** The workspace's default fallback policy: channels in order of preference (empty: none). */
  async fallbackChannels(tx: TenantTx): Promise<string[]> {
    const rows: Array<{ channels: string[] }> = await tx.manager.query(
      `SELECT fallback_channels AS channels FROM workspace_settings WHERE workspace_id = $1`,
      [tx.workspaceId],
    );
    return rows[0]?.channels ?? [];
  }

  async setFallbackChannels(tx: TenantTx, channels: readonly string[]): Promise<void> {
    await tx.manager.query(
      `INSERT INTO workspace_settings (workspace_id, fallback_channels) VALUES ($1, $2)
       ON CONFLICT (workspace_id) DO UPDATE SET fallback_channels = EXCLUDED.fallback_channels, updated_at = now()`,
      [tx.workspaceId, channels],
    );
  }
}
