import { type DynamicModule, Module, type Provider } from '@nestjs/common';
import { CONFIG, type FerryConfig } from '#config';
import { BillingAccountsRepository } from './billing-accounts.repository.js';
import { BillingJobs, BillingService, Entitlements } from './billing.ports.js';
import { NoopBillingJobs, NoopBillingService, NoopEntitlements } from './noop-billing.js';
import { PlanEntitlements } from './plan-entitlements.service.js';
import { PlanCatalogue } from './plans.js';
import { SeatSync } from './seat-sync.service.js';
import { StripeBillingJobs } from './stripe-billing-jobs.js';
import { StripeBillingService } from './stripe-billing.service.js';
import { createStripe, STRIPE } from './stripe-client.js';
import { StripeEventsRepository } from './stripe-events.repository.js';
import { StripeEventsService } from './stripe-events.service.js';
import { UsageMetering } from './usage-metering.service.js';
import { UsageRepository } from './usage.repository.js';

/**
 * Billing: with Stripe when STRIPE_SECRET_KEY is set, else the no-op implementations (every limit
 * off). Decided here, once, at registration: the rest of Ferry sees BillingService, Entitlements and
 * BillingJobs either way. Needs the config, database and queue modules.
 */
@Module({})
export class BillingModule {
  static forRoot(config: FerryConfig): DynamicModule {
    const common: Provider[] = [UsageRepository, BillingAccountsRepository];
    const stripe = config.billing.stripe;
    const providers: Provider[] = stripe
      ? [
          ...common,
          { provide: STRIPE, useFactory: () => createStripe(stripe) },
          { provide: PlanCatalogue, inject: [CONFIG], useFactory: (c: FerryConfig) => new PlanCatalogue(c.billing) },
          StripeEventsRepository,
          StripeEventsService,
          UsageMetering,
          SeatSync,
          { provide: BillingService, useClass: StripeBillingService },
          { provide: Entitlements, useClass: PlanEntitlements },
          { provide: BillingJobs, useClass: StripeBillingJobs },
        ]
      : [
          ...common,
          { provide: BillingService, useClass: NoopBillingService },
          { provide: Entitlements, useClass: NoopEntitlements },
          { provide: BillingJobs, useClass: NoopBillingJobs },
        ];
    return { module: BillingModule, providers, exports: [BillingService, Entitlements, BillingJobs] };
  }
}
