import { Inject, Injectable } from '@nestjs/common';
import type { Stripe } from 'stripe';
import { CONFIG, type FerryConfig, type StripeSettings } from '#config';
import { DomainError } from '#domain';
import { TenantDb } from '#database';
import { Outbox } from '#queue';
import { BillingAccountsRepository } from './billing-accounts.repository.js';
import { type BillingOverview, BillingService, type CheckoutInput } from './billing.ports.js';
import { effectivePlan, PlanCatalogue } from './plans.js';
import { fromRequest } from './stripe-calls.js';
import { STRIPE } from './stripe-client.js';
import { StripeEventsRepository } from './stripe-events.repository.js';
import { customerOfEvent } from './stripe-objects.js';
import { UsageRepository } from './usage.repository.js';

/** Webhook signatures older than this are refused (Stripe's own default tolerance). */
const SIGNATURE_TOLERANCE_SECONDS = 300;
const LIVE_STATUSES = new Set(['active', 'trialing', 'past_due']);

/** Billing with Stripe: the plan and usage, Checkout, the customer portal, and Stripe's webhook. */
@Injectable()
export class StripeBillingService extends BillingService {
  private readonly settings: StripeSettings;

  constructor(
    private readonly db: TenantDb,
    @Inject(CONFIG) private readonly config: FerryConfig,
    @Inject(STRIPE) private readonly stripe: Stripe,
    private readonly accounts: BillingAccountsRepository,
    private readonly usage: UsageRepository,
    private readonly events: StripeEventsRepository,
    private readonly plans: PlanCatalogue,
    private readonly outbox: Outbox,
  ) {
    super();
    this.settings = config.billing.stripe!;
  }

  async overview(workspaceId: string): Promise<BillingOverview> {
    const { account, counts } = await this.db.run(workspaceId, async (tx) => ({ account: await this.accounts.find(tx), counts: await this.usage.counts(tx) }));
    const plan = effectivePlan(account.plan, account.status);
    const graceEndsAt = account.status === 'past_due' && account.pastDueSince ? new Date(account.pastDueSince.getTime() + this.config.billing.pastDueGraceMs) : null;
    return {
      plan,
      status: account.status,
      currentPeriodEnd: account.currentPeriodEnd?.toISOString() ?? null,
      graceEndsAt: graceEndsAt?.toISOString() ?? null,
      limits: this.plans.limits(plan),
      usage: { seats: counts.members, inboxes: counts.inboxes, messagesThisMonth: counts.messagesThisMonth },
    };
  }

  async checkout(workspaceId: string, input: CheckoutInput): Promise<{ url: string }> {
    const { customerId, account, members } = await this.withCustomer(workspaceId);
    if (account.stripeSubscriptionId && LIVE_STATUSES.has(account.status)) {
      throw DomainError.conflict('billing.already_subscribed', 'The workspace has a subscription already: change its plan or seats in the customer portal (POST /v1/billing/portal)');
    }
    const seats = input.seats ?? Math.max(1, members);
    if (seats < members) {
      throw DomainError.invalid('billing.seats_below_members', `The workspace has ${members} members: buy at least that many seats`, [
        { field: 'seats', message: `must be at least ${members}` },
      ]);
    }
    const base = this.config.http.publicUrl;
    const session = await fromRequest(() =>
      this.stripe.checkout.sessions.create({
        mode: 'subscription',
        customer: customerId,
        client_reference_id: workspaceId,
        line_items: [{ price: this.plans.priceOf(input.plan), quantity: seats }],
        subscription_data: { metadata: { workspaceId } },
        success_url: `${base}/billing?checkout=success`,
        cancel_url: `${base}/billing?checkout=canceled`,
      }),
    );
    if (!session.url) throw new DomainError('billing.stripe_unavailable', 'unavailable', 'Stripe answered a Checkout Session without a URL');
    return { url: session.url };
  }

  async portal(workspaceId: string): Promise<{ url: string }> {
    const { customerId } = await this.withCustomer(workspaceId);
    const session = await fromRequest(() => this.stripe.billingPortal.sessions.create({ customer: customerId, return_url: `${this.config.http.publicUrl}/billing` }));
    return { url: session.url };
  }

  async receiveStripeHook(rawBody: Buffer, signature: string | undefined): Promise<{ received: true }> {
    let event: Stripe.Event;
    try {
      if (!signature) throw new Error('no Stripe-Signature header');
      event = this.stripe.webhooks.constructEvent(rawBody, signature, this.settings.webhookSecret, SIGNATURE_TOLERANCE_SECONDS);
    } catch {
      throw DomainError.invalid('billing.invalid_signature', `The Stripe-Signature header does not match the body, or is older than ${SIGNATURE_TOLERANCE_SECONDS} s: nothing stored`);
    }
    const customerId = customerOfEvent(event.data.object as unknown as Record<string, unknown>);
    // An event about a customer Ferry did not create (another integration on the account): not ours.
    const workspaceId = customerId ? await this.events.workspaceOfCustomer(customerId) : null;
    if (!workspaceId) return { received: true };
    await this.db.run(workspaceId, async (tx) => {
      if (await this.events.insert(tx, { id: event.id, type: event.type, created: event.created, payload: event })) {
        await this.outbox.write(tx, 'billing.event', { workspaceId, eventId: event.id });
      }
    });
    return { received: true };
  }

  /**
   * The workspace's Stripe customer, created on first need. The idempotency key is the workspace's:
   * a retry after a crash between Stripe's answer and our commit gets the same customer back.
   */
  private async withCustomer(workspaceId: string) {
    return this.db.run(workspaceId, async (tx) => {
      const account = await this.accounts.lock(tx);
      const members = await this.usage.members(tx);
      if (account.stripeCustomerId) return { customerId: account.stripeCustomerId, account, members };
      const customer = await fromRequest(() =>
        this.stripe.customers.create({ metadata: { workspaceId } }, { idempotencyKey: `ferry-customer-${workspaceId}` }),
      );
      await this.accounts.setCustomer(tx, customer.id);
      return { customerId: customer.id, account, members };
    });
  }
}
