import { Inject, Injectable } from '@nestjs/common';
import type { Stripe } from 'stripe';
import { TenantDb } from '#database';
import { BillingAccountsRepository } from './billing-accounts.repository.js';
import { PlanCatalogue } from './plans.js';
import { fromJob } from './stripe-calls.js';
import { STRIPE } from './stripe-client.js';
import { StripeEventsRepository } from './stripe-events.repository.js';
import { ENDED_STATUSES, subscriptionOfEvent, subscriptionState } from './stripe-objects.js';

/**
 * The `billing.event` job. Events arrive late, twice and out of order, so an event is only a signal:
 * the subscription it names is fetched from Stripe as it is now and that state is applied, under the
 * workspace's billing row lock (two events processed at once apply in turn, the later fetch last).
 * An event is processed once; a redelivery was never stored a second time.
 */
@Injectable()
export class StripeEventsService {
  constructor(
    private readonly db: TenantDb,
    @Inject(STRIPE) private readonly stripe: Stripe,
    private readonly events: StripeEventsRepository,
    private readonly accounts: BillingAccountsRepository,
    private readonly plans: PlanCatalogue,
  ) {}

  async process(workspaceId: string, eventId: string): Promise<void> {
    await this.db.run(workspaceId, async (tx) => {
      const event = await this.events.lock(tx, eventId);
      if (!event || event.processedAt) return;
      const account = await this.accounts.lock(tx);
      const subscriptionId = subscriptionOfEvent(event.type, event.payload.data?.object ?? {});
      if (subscriptionId) {
        const subscription = await fromJob('fetching the subscription from Stripe', () => this.stripe.subscriptions.retrieve(subscriptionId));
        const state = subscriptionState(subscription, this.plans);
        const replacesAnother = account.stripeSubscriptionId !== null && account.stripeSubscriptionId !== state.subscriptionId;
        if (!(replacesAnother && ENDED_STATUSES.has(state.status))) await this.accounts.applySubscription(tx, state);
      }
      await this.events.markProcessed(tx, eventId);
    });
  }
}
