import { describe, expect, it } from 'vitest';
import { customerOfEvent, subscriptionOfEvent } from './stripe-objects.js';

describe('what a Stripe event is about', () => {
  it('finds the customer of any object, or the customer itself', () => {
    expect(customerOfEvent({ object: 'customer', id: 'cus_1' })).toBe('cus_1');
    expect(customerOfEvent({ object: 'invoice', customer: 'cus_2' })).toBe('cus_2');
    expect(customerOfEvent({ object: 'subscription', customer: { id: 'cus_3' } })).toBe('cus_3');
    expect(customerOfEvent({ object: 'payout' })).toBeNull();
  });

  it('finds the subscription of subscription, checkout and invoice events (both invoice shapes)', () => {
    expect(subscriptionOfEvent('customer.subscription.updated', { id: 'sub_1' })).toBe('sub_1');
    expect(subscriptionOfEvent('checkout.session.completed', { id: 'cs_1', subscription: 'sub_2' })).toBe('sub_2');
    expect(subscriptionOfEvent('invoice.paid', { parent: { subscription_details: { subscription: 'sub_3' } } })).toBe('sub_3');
    expect(subscriptionOfEvent('invoice.payment_failed', { subscription: 'sub_4' })).toBe('sub_4');
    expect(subscriptionOfEvent('customer.created', { id: 'cus_1' })).toBeNull();
  });
});
