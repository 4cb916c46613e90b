import { Injectable } from '@nestjs/common';
import type { TenantTx } from '#database';

export interface UsageCounts {
  members: number;
  pendingInvitations: number;
  inboxes: number;
  messagesThisMonth: number;
}

export interface PendingReport {
  id: string;
  stripeCustomerId: string;
  quantity: number;
  createdAt: Date;
}

/** What the plan limits, counted; the messages counted once each; their reports to Stripe. */
@Injectable()
export class UsageRepository {
  /** Messages count from the start of the calendar month (UTC). */
  async counts(tx: TenantTx): Promise<UsageCounts> {
    const rows: UsageCounts[] = await tx.manager.query(
      `SELECT (SELECT count(*) FROM members WHERE workspace_id = $1) AS members,
              (SELECT count(*) FROM invitations WHERE workspace_id = $1 AND accepted_at IS NULL AND expires_at > now()) AS "pendingInvitations",
              (SELECT count(*) FROM inboxes WHERE workspace_id = $1 AND deleted_at IS NULL) AS inboxes,
              (SELECT count(*) FROM billing_usage WHERE workspace_id = $1
                 AND sent_at >= date_trunc('month', now() AT TIME ZONE 'UTC') AT TIME ZONE 'UTC') AS "messagesThisMonth"`,
      [tx.workspaceId],
    );
    return rows[0]!;
  }

  async members(tx: TenantTx): Promise<number> {
    const rows: Array<{ n: number }> = await tx.manager.query(`SELECT count(*) AS n FROM members WHERE workspace_id = $1`, [tx.workspaceId]);
    return rows[0]?.n ?? 0;
  }

  /** Counts each message once, whatever number of times it is offered; answers how many were new. */
  async recordMany(tx: TenantTx, messageIds: string[], billable: boolean): Promise<number> {
    const rows: unknown[] = await tx.manager.query(
      `INSERT INTO billing_usage (workspace_id, message_id, billable)
       SELECT $1, id, $3 FROM unnest($2::uuid[]) AS t(id)
       ON CONFLICT (workspace_id, message_id) DO NOTHING RETURNING message_id`,
      [tx.workspaceId, [...new Set(messageIds)], billable],
    );
    return rows.length;
  }

  /**
   * Gathers the billable usage not yet in a report into a new report with id `reportId` (the Stripe
   * meter event's identifier), in the caller's transaction; answers its quantity (0: nothing to report).
   */
  async gather(tx: TenantTx, reportId: string, stripeCustomerId: string): Promise<number> {
    const rows: Array<{ n: number }> = await tx.manager.query(
      `WITH picked AS (
         SELECT message_id FROM billing_usage WHERE workspace_id = $1 AND billable AND report_id IS NULL FOR UPDATE),
       marked AS (
         UPDATE billing_usage u SET report_id = $2 FROM picked
         WHERE u.workspace_id = $1 AND u.message_id = picked.message_id RETURNING 1)
       SELECT count(*) AS n FROM marked`,
      [tx.workspaceId, reportId],
    );
    const quantity = rows[0]?.n ?? 0;
    if (quantity > 0) {
      await tx.manager.query(
        `INSERT INTO billing_usage_reports (id, workspace_id, stripe_customer_id, quantity) VALUES ($2, $1, $3, $4)`,
        [tx.workspaceId, reportId, stripeCustomerId, quantity],
      );
    }
    return quantity;
  }

  /** Reports chosen but not yet confirmed by Stripe (new, or left by a crash), oldest first. */
  async pendingReports(tx: TenantTx): Promise<PendingReport[]> {
    return tx.manager.query(
      `SELECT id, stripe_customer_id AS "stripeCustomerId", quantity, created_at AS "createdAt"
       FROM billing_usage_reports WHERE workspace_id = $1 AND reported_at IS NULL ORDER BY created_at, id`,
      [tx.workspaceId],
    );
  }

  async markReported(tx: TenantTx, reportId: string): Promise<void> {
    await tx.manager.query(`UPDATE billing_usage_reports SET reported_at = now() WHERE workspace_id = $1 AND id = $2`, [tx.workspaceId, reportId]);
  }
}
