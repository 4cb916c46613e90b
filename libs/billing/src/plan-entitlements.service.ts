import { Inject, Injectable } from '@nestjs/common';
import { CONFIG, type FerryConfig, type PlanLimits, type PlanName } from '#config';
import { TenantDb } from '#database';
import { BillingAccountsRepository } from './billing-accounts.repository.js';
import { limitReached, pastDue } from './billing-errors.js';
import { type EntitledAction, Entitlements } from './billing.ports.js';
import { effectivePlan, type LimitedResource, PlanCatalogue } from './plans.js';
import { UsageRepository } from './usage.repository.js';

const LABELS: Record<LimitedResource, string> = { seats: 'seats', inboxes: 'inboxes', messagesPerMonth: 'messages a month' };

/**
 * The plan's decision for the edge. Counts are read when asked, so two requests racing at the very
 * limit may both pass (one over): a limit is a plan's promise, not an invariant worth a lock.
 * Messages count once marked sent (billing_usage), so a burst still queued is counted as it goes out.
 */
@Injectable()
export class PlanEntitlements extends Entitlements {
  constructor(
    private readonly db: TenantDb,
    @Inject(CONFIG) private readonly config: FerryConfig,
    private readonly accounts: BillingAccountsRepository,
    private readonly usage: UsageRepository,
    private readonly plans: PlanCatalogue,
  ) {
    super();
  }

  async assertAllowed(workspaceId: string, action: EntitledAction): Promise<void> {
    const { account, counts } = await this.db.run(workspaceId, async (tx) => ({ account: await this.accounts.find(tx), counts: await this.usage.counts(tx) }));
    const plan = effectivePlan(account.plan, account.status);
    const limits = this.plans.limits(plan);
    switch (action) {
      case 'member.invite':
        return this.check(plan, limits, 'seats', counts.members + counts.pendingInvitations);
      case 'member.accept':
        return this.check(plan, limits, 'seats', counts.members);
      case 'inbox.create':
        return this.check(plan, limits, 'inboxes', counts.inboxes);
      case 'message.send': {
        if (account.status === 'past_due' && account.pastDueSince) {
          const graceEnd = new Date(account.pastDueSince.getTime() + this.config.billing.pastDueGraceMs);
          if (Date.now() >= graceEnd.getTime()) throw pastDue(graceEnd);
        }
        return this.check(plan, limits, 'messagesPerMonth', counts.messagesThisMonth);
      }
    }
  }

  private check(plan: PlanName, limits: PlanLimits, resource: LimitedResource, used: number): void {
    const limit = limits[resource];
    if (limit !== null && used >= limit) throw limitReached(`${limit} ${LABELS[resource]}`, plan, this.plans.upgradeFor(plan, resource));
  }
}
