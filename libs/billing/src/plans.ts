import { type BillingConfig, PLAN_NAMES, type PlanLimits, type PlanName } from '#config';

export type LimitedResource = 'seats' | 'inboxes' | 'messagesPerMonth';

/** Subscription statuses in which the paid plan applies (past_due within its grace, checked apart). */
const PAID_STATUSES = new Set(['active', 'trialing', 'past_due']);

/** The plan a workspace is held to: its subscribed plan while the subscription lives, else Free. */
export function effectivePlan(plan: PlanName, status: string): PlanName {
  return plan !== 'free' && PAID_STATUSES.has(status) ? plan : 'free';
}

/** The plans as configured (libs/config DEFAULT_PLANS, BILLING_PLANS), and the upgrade path between them. */
export class PlanCatalogue {
  constructor(private readonly config: BillingConfig) {}

  limits(plan: PlanName): PlanLimits {
    return this.config.plans[plan];
  }

  /** The cheapest plan above `plan` that allows more of `resource`; null when none does. */
  upgradeFor(plan: PlanName, resource: LimitedResource): PlanName | null {
    const current = this.config.plans[plan][resource];
    for (const next of PLAN_NAMES.slice(PLAN_NAMES.indexOf(plan) + 1)) {
      const limit = this.config.plans[next][resource];
      if (current !== null && (limit === null || limit > current)) return next;
    }
    return null;
  }

  /** The Stripe price of a paid plan (per seat). */
  priceOf(plan: Exclude<PlanName, 'free'>): string {
    const prices = this.config.stripe?.prices;
    if (!prices) throw new Error('Billing is not configured');
    return prices[plan];
  }

  /** Which plan a Stripe price id sells; null for a price Ferry does not know. */
  planOfPrice(priceId: string | null | undefined): PlanName | null {
    const prices = this.config.stripe?.prices;
    if (!prices || !priceId) return null;
    if (priceId === prices.team) return 'team';
    if (priceId === prices.business) return 'business';
    return null;
  }
}
