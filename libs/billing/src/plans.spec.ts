import { describe, expect, it } from 'vitest';
import { ConfigError, DEFAULT_PLANS, loadConfig } from '#config';
import { effectivePlan, PlanCatalogue } from './plans.js';

const STRIPE_ENV = { STRIPE_SECRET_KEY: 'sk_test_x', STRIPE_WEBHOOK_SECRET: 'whsec_x', STRIPE_PRICE_TEAM: 'price_t', STRIPE_PRICE_BUSINESS: 'price_b' };
const config = (env: Record<string, string>) => loadConfig({ APP_SECRET: 'x'.repeat(32), ...env }, {});

describe('billing configuration', () => {
  it('is off without a Stripe key, with the default plans', () => {
    const { billing } = config({});
    expect(billing.stripe).toBeNull();
    expect(billing.plans).toEqual(DEFAULT_PLANS);
    expect(billing.pastDueGraceMs).toBe(7 * 86_400_000);
  });

  it('needs the webhook secret and both prices once the key is set', () => {
    expect(() => config({ STRIPE_SECRET_KEY: 'sk_test_x' })).toThrow(ConfigError);
    expect(() => config({ ...STRIPE_ENV, STRIPE_PRICE_BUSINESS: '' })).toThrow(/STRIPE_PRICE_BUSINESS/);
    const stripe = config({ ...STRIPE_ENV, STRIPE_API_URL: 'http://127.0.0.1:3900' }).billing.stripe;
    expect(stripe).toMatchObject({ apiUrl: 'http://127.0.0.1:3900', prices: { team: 'price_t', business: 'price_b' }, meterEvent: 'ferry_messages_sent' });
    expect(() => config({ ...STRIPE_ENV, STRIPE_API_URL: 'ftp://x' })).toThrow(/STRIPE_API_URL/);
  });

  it('takes plan overrides from BILLING_PLANS and refuses unknown plans, fields and values', () => {
    const plans = config({ BILLING_PLANS: JSON.stringify({ free: { inboxes: 5 }, business: { seats: 500 } }) }).billing.plans;
    expect(plans.free).toEqual({ ...DEFAULT_PLANS.free, inboxes: 5 });
    expect(plans.business.seats).toBe(500);
    expect(plans.team).toEqual(DEFAULT_PLANS.team);
    expect(() => config({ BILLING_PLANS: '{"gold":{}}' })).toThrow(/unknown plan "gold"/);
    expect(() => config({ BILLING_PLANS: '{"free":{"colour":1}}' })).toThrow(/unknown field/);
    expect(() => config({ BILLING_PLANS: '{"free":{"seats":-1}}' })).toThrow(/free.seats/);
    expect(() => config({ BILLING_PLANS: 'not json' })).toThrow(/not valid JSON/);
  });
});

describe('PlanCatalogue', () => {
  const catalogue = new PlanCatalogue(config(STRIPE_ENV).billing);

  it('names the next plan that allows more of the resource', () => {
    expect(catalogue.upgradeFor('free', 'seats')).toBe('team');
    expect(catalogue.upgradeFor('team', 'inboxes')).toBe('business');
    expect(catalogue.upgradeFor('business', 'messagesPerMonth')).toBeNull();
  });

  it('maps prices both ways', () => {
    expect(catalogue.priceOf('team')).toBe('price_t');
    expect(catalogue.planOfPrice('price_b')).toBe('business');
    expect(catalogue.planOfPrice('price_unknown')).toBeNull();
  });

  it('holds a workspace to Free unless its subscription lives (past_due included, within grace)', () => {
    expect(effectivePlan('team', 'active')).toBe('team');
    expect(effectivePlan('team', 'past_due')).toBe('team');
    expect(effectivePlan('business', 'canceled')).toBe('free');
    expect(effectivePlan('team', 'incomplete')).toBe('free');
  });
});
