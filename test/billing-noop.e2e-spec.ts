import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uuidv7 } from '#domain';
import { DEFAULT_PLANS } from '#config';
import { ApiHarness, seedTenant, type SeededTenant } from '#testing';

/** Without STRIPE_SECRET_KEY (self-hosting) the no-op billing module is registered: nothing is limited. */
describe('billing off (no Stripe key)', () => {
  let api: ApiHarness;
  let tenant: SeededTenant;

  beforeAll(async () => {
    api = await ApiHarness.start({ STRIPE_SECRET_KEY: '' });
    expect(api.config.billing.stripe).toBeNull();
    tenant = await seedTenant(api.config, 'Self-hosted');
  });

  afterAll(async () => {
    await api?.close();
  });

  it('answers a self-hosted plan without limits', async () => {
    const answer = await api.request('GET', '/v1/billing', { token: tenant.apiKey });
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({
      plan: 'self_hosted',
      status: 'active',
      currentPeriodEnd: null,
      limits: { seats: null, inboxes: null, messagesPerMonth: null },
      usage: { seats: 1, inboxes: 0, messagesThisMonth: 0 },
    });
  });

  it('limits nothing: more inboxes and invitations than any plan allows Free', async () => {
    for (let i = 0; i <= DEFAULT_PLANS.free.inboxes!; i++) {
      const inbox = await api.request('POST', '/v1/inboxes', { token: tenant.apiKey, body: { name: `inbox ${i}`, channel: 'api', config: {} } });
      expect(inbox.status, JSON.stringify(inbox.body)).toBe(201);
    }
    for (let i = 0; i <= DEFAULT_PLANS.free.seats!; i++) {
      const invited = await api.request('POST', '/v1/invitations', { token: tenant.apiKey, body: { email: `noop-${uuidv7()}@example.test`, role: 'agent' } });
      expect(invited.status).toBe(201);
    }
  });

  it('answers billing.not_configured for Checkout, the portal and the Stripe hook', async () => {
    const calls = [
      api.request('POST', '/v1/billing/checkout', { token: tenant.apiKey, body: { plan: 'team' } }),
      api.request('POST', '/v1/billing/portal', { token: tenant.apiKey }),
      api.request('POST', '/hooks/stripe', { rawBody: '{"id":"evt_1"}', headers: { 'stripe-signature': 't=1,v1=x' } }),
    ];
    for (const answer of await Promise.all(calls)) {
      expect(answer.status).toBe(404);
      expect(answer.body.code).toBe('billing.not_configured');
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    }
  });
});
