import { Injectable } from '@nestjs/common';
import type { PlanName } from '#config';
import type { TenantTx } from '#database';

export interface BillingAccountRow {
  stripeCustomerId: string | null;
  stripeSubscriptionId: string | null;
  stripeSubscriptionItemId: string | null;
  plan: PlanName;
  status: string;
  seats: number | null;
  currentPeriodEnd: Date | null;
  pastDueSince: Date | null;
}

/** A subscription as Stripe answers it now, reduced to what Ferry keeps. */
export interface SubscriptionState {
  subscriptionId: string;
  itemId: string | null;
  plan: PlanName;
  status: string;
  seats: number | null;
  currentPeriodEnd: Date | null;
}

const COLUMNS = `stripe_customer_id AS "stripeCustomerId", stripe_subscription_id AS "stripeSubscriptionId",
  stripe_subscription_item_id AS "stripeSubscriptionItemId", plan, status, seats,
  current_period_end AS "currentPeriodEnd", past_due_since AS "pastDueSince"`;

const EMPTY: BillingAccountRow = {
  stripeCustomerId: null,
  stripeSubscriptionId: null,
  stripeSubscriptionItemId: null,
  plan: 'free',
  status: 'none',
  seats: null,
  currentPeriodEnd: null,
  pastDueSince: null,
};

/** The workspace's billing state (one row, created on first need). */
@Injectable()
export class BillingAccountsRepository {
  /** The row, or the state of a workspace that never touched billing. */
  async find(tx: TenantTx): Promise<BillingAccountRow> {
    const rows: BillingAccountRow[] = await tx.manager.query(`SELECT ${COLUMNS} FROM billing_accounts WHERE workspace_id = $1`, [tx.workspaceId]);
    return rows[0] ?? EMPTY;
  }

  /** The row, created if needed, locked until the transaction ends: one writer per workspace at a time. */
  async lock(tx: TenantTx): Promise<BillingAccountRow> {
    await tx.manager.query(`INSERT INTO billing_accounts (workspace_id) VALUES ($1) ON CONFLICT (workspace_id) DO NOTHING`, [tx.workspaceId]);
    const rows: BillingAccountRow[] = await tx.manager.query(`SELECT ${COLUMNS} FROM billing_accounts WHERE workspace_id = $1 FOR UPDATE`, [tx.workspaceId]);
    return rows[0] ?? EMPTY;
  }

  async setCustomer(tx: TenantTx, customerId: string): Promise<void> {
    await tx.manager.query(`UPDATE billing_accounts SET stripe_customer_id = $2, updated_at = now() WHERE workspace_id = $1`, [tx.workspaceId, customerId]);
  }

  /** Applies the subscription's current state; past_due_since starts with the first past_due and ends with it. */
  async applySubscription(tx: TenantTx, state: SubscriptionState): Promise<void> {
    await tx.manager.query(
      `UPDATE billing_accounts
       SET stripe_subscription_id = $2, stripe_subscription_item_id = $3, plan = $4, status = $5, seats = $6,
           current_period_end = $7,
           past_due_since = CASE WHEN $5 = 'past_due' THEN COALESCE(past_due_since, now()) ELSE NULL END,
           updated_at = now()
       WHERE workspace_id = $1`,
      [tx.workspaceId, state.subscriptionId, state.itemId, state.plan, state.status, state.seats, state.currentPeriodEnd],
    );
  }

  /**
   * Takes the workspace's slot for a seat-quantity update if the last one is at least `intervalMs`
   * old; otherwise answers how long until it is free.
   */
  async claimSeatsSync(tx: TenantTx, intervalMs: number): Promise<{ claimedAt: Date } | { waitMs: number }> {
    const rows: Array<{ claimedAt: Date | null; waitMs: number }> = await tx.manager.query(
      `SELECT CASE WHEN seats_synced_at IS NULL OR seats_synced_at <= now() - make_interval(secs => $2) THEN now() END AS "claimedAt",
              GREATEST(0, EXTRACT(EPOCH FROM (seats_synced_at + make_interval(secs => $2) - now())) * 1000)::float8 AS "waitMs"
       FROM billing_accounts WHERE workspace_id = $1`,
      [tx.workspaceId, intervalMs / 1000],
    );
    const row = rows[0];
    if (!row?.claimedAt) return { waitMs: Math.ceil(row?.waitMs ?? intervalMs) };
    await tx.manager.query(`UPDATE billing_accounts SET seats_synced_at = $2 WHERE workspace_id = $1`, [tx.workspaceId, row.claimedAt]);
    return { claimedAt: row.claimedAt };
  }

  async setSeats(tx: TenantTx, seats: number): Promise<void> {
    await tx.manager.query(`UPDATE billing_accounts SET seats = $2, updated_at = now() WHERE workspace_id = $1`, [tx.workspaceId, seats]);
  }
}
