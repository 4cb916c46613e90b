import { Inject, Injectable } from '@nestjs/common';
import type { Stripe } from 'stripe';
import { CONFIG, type FerryConfig } from '#config';
import { TenantDb } from '#database';
import { JobDeferred } from '#queue';
import { BillingAccountsRepository } from './billing-accounts.repository.js';
import { fromJob } from './stripe-calls.js';
import { STRIPE } from './stripe-client.js';
import { UsageRepository } from './usage.repository.js';

const LIVE_STATUSES = new Set(['active', 'trialing', 'past_due']);

/**
 * The `billing.seats` job (written with every member added or removed): the subscription's quantity
 * follows the member count. Stripe allows 200 quantity updates an hour per subscription, so a
 * workspace gets at most one update per BILLING_SEATS_SYNC_INTERVAL_MS: a job arriving sooner waits
 * (deferred, no try spent) and then applies the count as it is by then; a burst of changes becomes
 * one update, and a job that finds the count already right does nothing.
 */
@Injectable()
export class SeatSync {
  constructor(
    private readonly db: TenantDb,
    @Inject(CONFIG) private readonly config: FerryConfig,
    @Inject(STRIPE) private readonly stripe: Stripe,
    private readonly accounts: BillingAccountsRepository,
    private readonly usage: UsageRepository,
  ) {}

  async sync(workspaceId: string): Promise<void> {
    const plan = await this.db.run(workspaceId, async (tx) => {
      const account = await this.accounts.lock(tx);
      if (!account.stripeSubscriptionId || !account.stripeSubscriptionItemId || !LIVE_STATUSES.has(account.status)) return null;
      const seats = Math.max(1, await this.usage.members(tx));
      if (seats === account.seats) return null;
      const claim = await this.accounts.claimSeatsSync(tx, this.config.billing.seatsSyncIntervalMs);
      if ('waitMs' in claim) return claim;
      return { subscriptionId: account.stripeSubscriptionId, itemId: account.stripeSubscriptionItemId, seats, claimedAt: claim.claimedAt };
    });
    if (!plan) return;
    if ('waitMs' in plan) throw new JobDeferred(Math.max(plan.waitMs, 100), `seat updates of workspace ${workspaceId} are throttled`);
    await fromJob('updating the seat quantity', () =>
      this.stripe.subscriptions.update(
        plan.subscriptionId,
        { items: [{ id: plan.itemId, quantity: plan.seats }], proration_behavior: 'create_prorations' },
        { idempotencyKey: `ferry-seats-${plan.subscriptionId}-${plan.claimedAt.getTime()}` },
      ),
    );
    await this.db.run(workspaceId, (tx) => this.accounts.setSeats(tx, plan.seats));
  }
}
