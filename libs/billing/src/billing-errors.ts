import { DomainError } from '#domain';
import type { PlanName } from '#config';

export function notConfigured(): DomainError {
  return new DomainError('billing.not_configured', 'not_found', 'Billing is not configured on this installation (no STRIPE_SECRET_KEY): every plan limit is off');
}

export function limitReached(what: string, plan: PlanName, upgradeTo: PlanName | null): DomainError {
  const upgrade = upgradeTo ? `; upgrade to ${upgradeTo} (POST /v1/billing/checkout)` : '';
  return new DomainError('billing.limit_reached', 'payment_required', `The ${plan} plan allows ${what}${upgrade}`, {
    extensions: { plan, upgradeTo },
  });
}

export function pastDue(graceEndedAt: Date): DomainError {
  return new DomainError(
    'billing.past_due',
    'payment_required',
    `The last payment failed and the grace period ended at ${graceEndedAt.toISOString()}: sending is stopped until the invoice is paid (POST /v1/billing/portal)`,
    { extensions: { graceEndedAt: graceEndedAt.toISOString() } },
  );
}
