import { Injectable } from '@nestjs/common';
import { BillingJobs } from './billing.ports.js';
import { SeatSync } from './seat-sync.service.js';
import { StripeEventsService } from './stripe-events.service.js';
import { UsageMetering } from './usage-metering.service.js';

/** The billing jobs with Stripe. */
@Injectable()
export class StripeBillingJobs extends BillingJobs {
  constructor(
    private readonly events: StripeEventsService,
    private readonly metering: UsageMetering,
    private readonly seatSync: SeatSync,
  ) {
    super();
  }

  event(workspaceId: string, eventId: string): Promise<void> {
    return this.events.process(workspaceId, eventId);
  }

  usage(workspaceId: string, messageIds: string[]): Promise<void> {
    return this.metering.record(workspaceId, messageIds);
  }

  report(workspaceId: string): Promise<void> {
    return this.metering.report(workspaceId);
  }

  seats(workspaceId: string): Promise<void> {
    return this.seatSync.sync(workspaceId);
  }
}
