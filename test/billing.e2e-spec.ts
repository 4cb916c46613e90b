import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { INestApplicationContext } from '@nestjs/common';
import pg from 'pg';
import { Stripe } from 'stripe';
import { uuidv7 } from '#domain';
import { QUEUE_NAMES, Queues } from '#queue';
import { type ApiHarness, seedTenant, type SeededTenant, SimulatorHarness, startReachableApi, startWorker } from '#testing';

/**
 * Billing end to end: the API and worker in this process with billing on, the real `stripe` SDK
 * pointed at the simulator's Stripe (STRIPE_API_URL), whose webhooks are signed with the SDK's own
 * test-header helper. Plans are small here (BILLING_PLANS) so limits are reached in a few calls.
 */

const WAIT = { timeout: 20_000, interval: 50 };
const WEBHOOK_SECRET = 'whsec_billing_e2e_secret';
const API_KEY = 'sk_test_billing_e2e';
const GRACE_SECONDS = 3;
const PLANS = {
  free: { seats: 2, inboxes: 1, messagesPerMonth: 2, features: [] },
  team: { seats: 10, inboxes: 3, messagesPerMonth: 100, features: ['fallback'] },
  business: { seats: null, inboxes: null, messagesPerMonth: null, features: ['fallback'] },
};

let sequence = 0;
const digits = (width: number): string => `${Date.now() % 1e6}${String(++sequence).padStart(4, '0')}`.padStart(width, '0').slice(-width);

const BILLING_ENV = (sim: SimulatorHarness): Record<string, string> => ({
  STRIPE_SECRET_KEY: API_KEY,
  STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
  STRIPE_API_URL: sim.baseUrl,
  STRIPE_PRICE_TEAM: 'price_team_e2e',
  STRIPE_PRICE_BUSINESS: 'price_business_e2e',
  STRIPE_METER_EVENT: 'ferry_messages_e2e',
  BILLING_PLANS: JSON.stringify(PLANS),
  BILLING_PAST_DUE_GRACE_SECONDS: String(GRACE_SECONDS),
  BILLING_USAGE_REPORT_WINDOW_MS: '500',
  BILLING_SEATS_SYNC_INTERVAL_MS: '1000',
});

describe('billing with Stripe (simulated)', () => {
  let sim: SimulatorHarness;
  let api: ApiHarness;
  let worker: INestApplicationContext;
  let owner: pg.Client;

  beforeAll(async () => {
    sim = await SimulatorHarness.start();
    api = await startReachableApi({ ALLOW_PRIVATE_URLS: 'true', RATE_LIMIT_PER_MINUTE: '100000', OUTBOX_RELAY_INTERVAL_MS: '200', ...BILLING_ENV(sim) });
    worker = await startWorker(api.config);
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
    await sim.call('POST', '/_sim/stripe/config', { apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET, webhookUrl: `${api.baseUrl}/hooks/stripe` });
  });

  afterAll(async () => {
    await worker?.close();
    const queues = api?.app.get(Queues);
    for (const name of QUEUE_NAMES) await queues?.get(name).obliterate({ force: true });
    await owner?.end();
    await api?.close();
    await sim?.close();
  });

  const billing = async (tenant: SeededTenant) => (await api.request('GET', '/v1/billing', { token: tenant.apiKey })).body;

  async function subscribe(tenant: SeededTenant, seats = 1): Promise<{ subscriptionId: string; customerId: string; events: string[] }> {
    const checkout = await api.request('POST', '/v1/billing/checkout', { token: tenant.apiKey, body: { plan: 'team', seats } });
    expect(checkout.status, JSON.stringify(checkout.body)).toBe(200);
    expect(checkout.body.url).toMatch(new RegExp(`^${sim.baseUrl}/checkout/cs_test_`));
    const sessionId = checkout.body.url.split('/').pop();
    const done = await sim.call('POST', `/_sim/stripe/checkout/${sessionId}/complete`);
    await vi.waitFor(async () => expect((await billing(tenant)).plan).toBe('team'), WAIT);
    return { subscriptionId: done.subscription.id, customerId: done.subscription.customer, events: done.events };
  }

  /** A Telegram inbox at the simulator and a conversation its customer started; answers a reply function. */
  async function conversation(tenant: SeededTenant) {
    const config = { botToken: `${digits(10)}:AAHk3x9Qm2LwP0vR5sT8uY1zB4cD6eF7gH`, secretToken: `sec_${digits(8)}`, apiBaseUrl: sim.baseUrl };
    const inbox = await api.request('POST', '/v1/inboxes', { token: tenant.apiKey, body: { name: 'Telegram', channel: 'telegram', config } });
    expect(inbox.status, JSON.stringify(inbox.body)).toBe(201);
    const account = await sim.registerAccount({ channel: 'telegram', ...config, hookUrl: inbox.body.webhookUrl });
    const chat = `7${digits(9)}`;
    const text = `hello ${uuidv7()}`;
    await sim.inbound('telegram', { account: account.id, message: { from: chat, name: 'Olga', text } });
    const conversationId = await vi.waitFor(async () => {
      const { rows } = await owner.query(`SELECT conversation_id FROM messages WHERE workspace_id = $1 AND body = $2`, [tenant.workspaceId, text]);
      expect(rows).toHaveLength(1);
      return rows[0].conversation_id as string;
    }, WAIT);
    const reply = (body: string, type = 'text') => api.request('POST', `/v1/conversations/${conversationId}/messages`, { token: tenant.apiKey, body: { type, body } });
    const sentToChat = async () => (await sim.sent('telegram')).messages.filter((m) => m.to === chat).length;
    return { reply, sentToChat };
  }

  it('checkout → webhook → plan active → limits raised; seats follow members', async () => {
    const tenant = await seedTenant(api.config, 'Billing checkout');
    const before = await billing(tenant);
    expect(before).toMatchObject({ plan: 'free', status: 'none', limits: { inboxes: 1, seats: 2, messagesPerMonth: 2 }, usage: { seats: 1, inboxes: 0 } });
    const inbox = (name: string) => api.request('POST', '/v1/inboxes', { token: tenant.apiKey, body: { name, channel: 'api', config: {} } });
    expect((await inbox('first')).status).toBe(201);
    const refused = await inbox('second');
    expect(refused.status).toBe(402);
    expect(refused.headers.get('content-type')).toContain('application/problem+json');
    expect(refused.body).toMatchObject({ code: 'billing.limit_reached', plan: 'free', upgradeTo: 'team' });
    expect((await owner.query(`SELECT count(*)::int AS n FROM inboxes WHERE workspace_id = $1`, [tenant.workspaceId])).rows[0].n).toBe(1);

    const { subscriptionId, customerId } = await subscribe(tenant, 1);
    const after = await billing(tenant);
    expect(after).toMatchObject({ plan: 'team', status: 'active', limits: { inboxes: 3, seats: 10, messagesPerMonth: 100 } });
    expect(Date.parse(after.currentPeriodEnd)).toBeGreaterThan(Date.now());
    expect((await inbox('second')).status).toBe(201);
    // The customer was created once, with the workspace's idempotency key.
    const calls: Array<{ method: string; path: string; idempotencyKey: string | null; params: Record<string, unknown> }> = (await sim.call('GET', '/_sim/stripe/calls')).calls;
    const created = calls.filter((c) => c.path === '/v1/customers' && (c.params['metadata'] as Record<string, string>)?.['workspaceId'] === tenant.workspaceId);
    expect(created.map((c) => c.idempotencyKey)).toEqual([`ferry-customer-${tenant.workspaceId}`]);
    expect(calls.some((c) => c.path === '/v1/checkout/sessions' && c.params['customer'] === customerId && c.params['mode'] === 'subscription')).toBe(true);

    // A second member joins: the subscription's quantity follows (a billing.seats job).
    const invited = await api.request('POST', '/v1/invitations', { token: tenant.apiKey, body: { email: `seat-${uuidv7()}@example.test`, role: 'agent' } });
    expect(invited.status, JSON.stringify(invited.body)).toBe(201);
    const accepted = await api.request('POST', `/v1/invitations/${invited.body.token}/accept`, { body: { name: 'Second', password: 'correct horse battery' } });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(200);
    await vi.waitFor(async () => {
      const quantities = ((await sim.call('GET', '/_sim/stripe/calls')).calls as typeof calls)
        .filter((c) => c.method === 'POST' && c.path === `/v1/subscriptions/${subscriptionId}`)
        .map((c) => (c.params['items'] as Array<{ quantity: string }>)[0]!.quantity);
      expect(quantities).toEqual(['2']);
    }, WAIT);

    const portal = await api.request('POST', '/v1/billing/portal', { token: tenant.apiKey });
    expect(portal.status).toBe(200);
    expect(portal.body.url).toMatch(new RegExp(`^${sim.baseUrl}/portal/bps_`));
  });

  it('a burst of member changes becomes few seat updates (throttled per subscription), ending at the member count', async () => {
    const tenant = await seedTenant(api.config, 'Billing seats burst');
    const { subscriptionId } = await subscribe(tenant, 1);
    const join = async () => {
      const invited = await api.request('POST', '/v1/invitations', { token: tenant.apiKey, body: { email: `burst-${uuidv7()}@example.test`, role: 'agent' } });
      const accepted = await api.request('POST', `/v1/invitations/${invited.body.token}/accept`, { body: { name: 'Burst', password: 'correct horse battery' } });
      expect(accepted.status).toBe(200);
      return accepted.body.user.id as string;
    };
    for (let i = 0; i < 4; i++) await join();
    // One leaves again: 4 members in the end.
    const members = await api.request('GET', '/v1/members', { token: tenant.apiKey });
    const leaving = members.body.data.find((m: { role: string }) => m.role === 'agent');
    expect((await api.request('DELETE', `/v1/members/${leaving.id}`, { token: tenant.apiKey })).status).toBe(204);
    const updates = async () =>
      ((await sim.call('GET', '/_sim/stripe/calls')).calls as Array<{ method: string; path: string; params: Record<string, unknown> }>)
        .filter((c) => c.method === 'POST' && c.path === `/v1/subscriptions/${subscriptionId}`)
        .map((c) => (c.params['items'] as Array<{ quantity: string }>)[0]!.quantity);
    await vi.waitFor(async () => expect((await updates()).at(-1)).toBe('4'), WAIT);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    const all = await updates();
    expect(all.at(-1)).toBe('4');
    expect(all.length).toBeLessThan(5);
    expect((await billing(tenant)).usage.seats).toBe(4);
  });

  it('only owners and admins open Checkout or the portal', async () => {
    const tenant = await seedTenant(api.config, 'Billing roles');
    const email = `agent-${uuidv7()}@example.test`;
    const invited = await api.request('POST', '/v1/invitations', { token: tenant.apiKey, body: { email, role: 'agent' } });
    const session = await api.request('POST', `/v1/invitations/${invited.body.token}/accept`, { body: { name: 'Agent', password: 'correct horse battery' } });
    const agent = session.body.accessToken as string;
    expect((await api.request('POST', '/v1/billing/checkout', { token: agent, body: { plan: 'team' } })).body.code).toBe('auth.forbidden');
    expect((await api.request('POST', '/v1/billing/portal', { token: agent })).status).toBe(403);
    expect((await api.request('GET', '/v1/billing', { token: agent })).status).toBe(200);
  });

  it('sends past the monthly limit answer 402 and nothing reaches the provider; seats limit invitations', async () => {
    const tenant = await seedTenant(api.config, 'Billing limits');
    const { reply, sentToChat } = await conversation(tenant);
    for (const body of ['one', 'two']) expect((await reply(body)).status).toBe(202);
    await vi.waitFor(async () => expect((await billing(tenant)).usage.messagesThisMonth).toBe(2), WAIT);
    const refused = await reply('three');
    expect(refused.status).toBe(402);
    expect(refused.body).toMatchObject({ code: 'billing.limit_reached', upgradeTo: 'team' });
    expect((await reply('a note is not sent', 'note')).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect(await sentToChat()).toBe(2);
    const { rows } = await owner.query(`SELECT count(*)::int AS n FROM messages WHERE workspace_id = $1 AND direction = 'out'`, [tenant.workspaceId]);
    expect(rows[0].n).toBe(2);

    // Free allows 2 seats: the owner plus one pending invitation fill them.
    const invite = () => api.request('POST', '/v1/invitations', { token: tenant.apiKey, body: { email: `limit-${uuidv7()}@example.test`, role: 'agent' } });
    const first = await invite();
    expect(first.status).toBe(201);
    const second = await invite();
    expect(second.status).toBe(402);
    expect(second.body.code).toBe('billing.limit_reached');
    expect((await owner.query(`SELECT count(*)::int AS n FROM invitations WHERE workspace_id = $1`, [tenant.workspaceId])).rows[0].n).toBe(1);
  });

  it('payment failed → grace period → read-only for sending → paid again', async () => {
    const tenant = await seedTenant(api.config, 'Billing past due');
    const { reply, sentToChat } = await conversation(tenant);
    const { subscriptionId } = await subscribe(tenant);
    await sim.call('POST', `/_sim/stripe/subscriptions/${subscriptionId}/payment-failed`);
    const pastDue = await vi.waitFor(async () => {
      const state = await billing(tenant);
      expect(state.status).toBe('past_due');
      return state;
    }, WAIT);
    expect(pastDue.plan).toBe('team');
    expect(Date.parse(pastDue.graceEndsAt)).toBeGreaterThan(Date.now());
    expect((await reply('within the grace period')).status).toBe(202);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, Date.parse(pastDue.graceEndsAt) - Date.now()) + 100));
    const refused = await reply('after the grace period');
    expect(refused.status).toBe(402);
    expect(refused.body.code).toBe('billing.past_due');
    expect((await reply('notes still work', 'note')).status).toBe(202);
    await sim.call('POST', `/_sim/stripe/subscriptions/${subscriptionId}/pay`);
    await vi.waitFor(async () => expect((await billing(tenant)).status).toBe('active'), WAIT);
    expect((await reply('paid again')).status).toBe(202);
    await vi.waitFor(async () => expect(await sentToChat()).toBe(2), WAIT);
  });

  it('reports the paid usage to Stripe meter events, once per message', async () => {
    const tenant = await seedTenant(api.config, 'Billing usage');
    const { reply } = await conversation(tenant);
    const { customerId } = await subscribe(tenant);
    for (const body of ['u1', 'u2', 'u3']) expect((await reply(body)).status).toBe(202);
    await vi.waitFor(async () => {
      const report = await sim.call('GET', '/_sim/stripe/meter-events');
      expect(report.totals[customerId]).toBe(3);
    }, WAIT);
    const events = ((await sim.call('GET', '/_sim/stripe/meter-events')).meterEvents as Array<{ event_name: string; payload: Record<string, string> }>).filter(
      (e) => e.payload['stripe_customer_id'] === customerId,
    );
    expect(events.every((e) => e.event_name === 'ferry_messages_e2e')).toBe(true);
    // The report is marked after Stripe's answer, in the worker's next transaction: wait for it, not just for Stripe.
    await vi.waitFor(async () => {
      const { rows } = await owner.query(`SELECT count(*)::int AS n FROM billing_usage_reports WHERE workspace_id = $1 AND reported_at IS NULL`, [tenant.workspaceId]);
      expect(rows[0].n).toBe(0);
    }, WAIT);
  });

  it('duplicate and out-of-order events change nothing', async () => {
    const tenant = await seedTenant(api.config, 'Billing events');
    const { subscriptionId, events } = await subscribe(tenant);
    const created = events[1]!;
    const processed = async (id: string) =>
      (await owner.query(`SELECT processed_at FROM stripe_events WHERE id = $1`, [id])).rows as Array<{ processed_at: Date | null }>;
    await vi.waitFor(async () => expect((await processed(created))[0]?.processed_at).toBeTruthy(), WAIT);

    // Redelivered: stored once, one job, nothing applied again.
    const again = await sim.call('POST', `/_sim/stripe/events/${created}/resend`);
    expect(again.delivery.status).toBe(200);
    expect(await processed(created)).toHaveLength(1);
    const jobs = await owner.query(`SELECT count(*)::int AS n FROM outbox WHERE job_name = 'billing.event' AND payload->>'eventId' = $1`, [created]);
    expect(jobs.rows[0].n).toBe(1);

    // Canceled; then the old "active" snapshot arrives late under a new event id: still canceled, Free.
    await sim.call('POST', `/_sim/stripe/subscriptions/${subscriptionId}/cancel`);
    await vi.waitFor(async () => expect(await billing(tenant)).toMatchObject({ status: 'canceled', plan: 'free' }), WAIT);
    const late = await sim.call('POST', `/_sim/stripe/events/${created}/resend`, { asNew: true });
    expect(late.delivery.status).toBe(200);
    await vi.waitFor(async () => expect((await processed(late.id))[0]?.processed_at).toBeTruthy(), WAIT);
    expect(await billing(tenant)).toMatchObject({ status: 'canceled', plan: 'free', limits: { inboxes: 1 } });
  });

  it('refuses forged, stale and unsigned Stripe events, writing nothing', async () => {
    const tenant = await seedTenant(api.config, 'Billing signatures');
    const { customerId } = await subscribe(tenant);
    const count = async () => (await owner.query(`SELECT count(*)::int AS n FROM stripe_events WHERE workspace_id = $1`, [tenant.workspaceId])).rows[0].n as number;
    const stored = await count();
    const event = { id: `evt_forged_${digits(8)}`, object: 'event', type: 'customer.subscription.deleted', created: Math.floor(Date.now() / 1000), data: { object: { id: 'sub_x', object: 'subscription', customer: customerId } } };
    const payload = JSON.stringify(event);
    const post = (headers: Record<string, string>, body = payload) => api.request('POST', '/hooks/stripe', { rawBody: body, headers: { 'content-type': 'application/json', ...headers } });
    const cases = {
      forged: Stripe.webhooks.generateTestHeaderString({ payload, secret: 'whsec_not_the_secret' }),
      stale: Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET, timestamp: Math.floor(Date.now() / 1000) - 301 }),
      garbage: 't=1,v1=abc',
    };
    for (const [name, signature] of Object.entries(cases)) {
      const answer = await post({ 'stripe-signature': signature });
      expect(answer.status, name).toBe(400);
      expect(answer.body.code, name).toBe('billing.invalid_signature');
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
    }
    expect((await post({})).status).toBe(400);
    const signed = Stripe.webhooks.generateTestHeaderString({ payload, secret: WEBHOOK_SECRET });
    expect((await post({ 'stripe-signature': signed }, payload.replace('deleted', 'updated'))).status).toBe(400);
    expect(await count()).toBe(stored);
    expect(await billing(tenant)).toMatchObject({ plan: 'team', status: 'active' });
    // The same event, correctly signed, is taken.
    expect((await post({ 'stripe-signature': signed })).status).toBe(200);
    expect(await count()).toBe(stored + 1);
  });
});
