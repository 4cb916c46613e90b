import { Injectable } from '@nestjs/common';
import { TenantDb } from '#database';
import { notConfigured } from './billing-errors.js';
import { BillingJobs, type BillingOverview, BillingService, Entitlements } from './billing.ports.js';
import { UsageRepository } from './usage.repository.js';

/*
 * Billing when STRIPE_SECRET_KEY is not set (self-hosting): registered instead of the Stripe
 * implementations by BillingModule.forRoot, so no other code checks whether billing is on.
 */

/** Self-hosted: one unlimited plan; Checkout, the portal and the Stripe hook do not exist here. */
@Injectable()
export class NoopBillingService extends BillingService {
  constructor(
    private readonly db: TenantDb,
    private readonly usage: UsageRepository,
  ) {
    super();
  }

  async overview(workspaceId: string): Promise<BillingOverview> {
    const counts = await this.db.run(workspaceId, (tx) => this.usage.counts(tx));
    return {
      plan: 'self_hosted',
      status: 'active',
      currentPeriodEnd: null,
      graceEndsAt: null,
      limits: { seats: null, inboxes: null, messagesPerMonth: null, features: ['fallback'] },
      usage: { seats: counts.members, inboxes: counts.inboxes, messagesThisMonth: counts.messagesThisMonth },
    };
  }

  checkout(): Promise<{ url: string }> {
    return Promise.reject(notConfigured());
  }

  portal(): Promise<{ url: string }> {
    return Promise.reject(notConfigured());
  }

  receiveStripeHook(): Promise<{ received: true }> {
    return Promise.reject(notConfigured());
  }
}

/** Every limit off. */
@Injectable()
export class NoopEntitlements extends Entitlements {
  async assertAllowed(): Promise<void> {}
}

/** Usage is still counted (GET /v1/billing shows it); nothing is reported or synced. */
@Injectable()
export class NoopBillingJobs extends BillingJobs {
  constructor(
    private readonly db: TenantDb,
    private readonly counted: UsageRepository,
  ) {
    super();
  }

  async event(): Promise<void> {}

  async usage(workspaceId: string, messageIds: string[]): Promise<void> {
    await this.db.run(workspaceId, (tx) => this.counted.recordMany(tx, messageIds, false));
  }

  async report(): Promise<void> {}

  async seats(): Promise<void> {}
}
