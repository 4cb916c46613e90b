import type { Stripe } from 'stripe';
import type { SubscriptionState } from './billing-accounts.repository.js';
import type { PlanCatalogue } from './plans.js';

type StripeObject = Record<string, unknown>;

function idOf(value: unknown): string | null {
  if (typeof value === 'string') return value;
  if (value && typeof value === 'object' && typeof (value as StripeObject)['id'] === 'string') return (value as StripeObject)['id'] as string;
  return null;
}

/** The customer an event is about: the customer itself, or the customer its object belongs to. */
export function customerOfEvent(object: StripeObject): string | null {
  if (object['object'] === 'customer') return idOf(object['id']);
  return idOf(object['customer']);
}

/**
 * The subscription an event is about (null: an event about something else). Invoices name it under
 * parent.subscription_details since API version 2025-03-31.basil, under `subscription` before.
 */
export function subscriptionOfEvent(type: string, object: StripeObject): string | null {
  if (type.startsWith('customer.subscription.')) return idOf(object['id']);
  if (type === 'checkout.session.completed') return idOf(object['subscription']);
  if (type.startsWith('invoice.')) {
    const parent = object['parent'] as { subscription_details?: { subscription?: unknown } } | null | undefined;
    return idOf(parent?.subscription_details?.subscription) ?? idOf(object['subscription']);
  }
  return null;
}

/** What Ferry keeps of a subscription: its first item's price (the plan) and quantity (the seats). */
export function subscriptionState(subscription: Stripe.Subscription, plans: PlanCatalogue): SubscriptionState {
  const item = subscription.items.data[0];
  const periodEnd = item?.current_period_end;
  return {
    subscriptionId: subscription.id,
    itemId: item?.id ?? null,
    plan: plans.planOfPrice(item?.price.id) ?? 'free',
    status: subscription.status,
    seats: item?.quantity ?? null,
    currentPeriodEnd: typeof periodEnd === 'number' ? new Date(periodEnd * 1000) : null,
  };
}

/** A subscription that ended never replaces another one the workspace has (a late event about an old subscription). */
export const ENDED_STATUSES: ReadonlySet<string> = new Set(['canceled', 'incomplete_expired']);
