import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { uuidv7 } from '#domain';
import { QUEUE_NAMES, Queues } from '#queue';
import { type ApiHarness, seedTenant, SimulatorHarness, startReachableApi, WorkerProcess } from '#testing';

/**
 * Usage is reported to Stripe exactly once across a worker crash: the worker process is killed
 * (SIGKILL) while its meter event call is in flight (Stripe, the simulator, has recorded it but not
 * answered), then started again. The report's identifier was chosen and written before the call, so
 * the retried call repeats it and Stripe (the simulator, like Stripe) counts it once.
 */

const WAIT = { timeout: 30_000, interval: 100 };
const WEBHOOK_SECRET = 'whsec_billing_faults_secret';
const API_KEY = 'sk_test_billing_faults';

describe('usage metering across a worker crash', () => {
  let sim: SimulatorHarness;
  let api: ApiHarness;
  let worker: WorkerProcess;
  let owner: pg.Client;

  beforeAll(async () => {
    sim = await SimulatorHarness.start();
    api = await startReachableApi({
      ALLOW_PRIVATE_URLS: 'true',
      RATE_LIMIT_PER_MINUTE: '100000',
      WORKER_LOCK_DURATION_MS: '2000',
      OUTBOX_RELAY_INTERVAL_MS: '200',
      OUTBOX_RELAY_GRACE_MS: '500',
      STRIPE_SECRET_KEY: API_KEY,
      STRIPE_WEBHOOK_SECRET: WEBHOOK_SECRET,
      STRIPE_API_URL: sim.baseUrl,
      STRIPE_PRICE_TEAM: 'price_team_faults',
      STRIPE_PRICE_BUSINESS: 'price_business_faults',
      BILLING_USAGE_REPORT_WINDOW_MS: '300',
    });
    worker = await WorkerProcess.start(api.config);
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
    await sim.call('POST', '/_sim/stripe/config', { apiKey: API_KEY, webhookSecret: WEBHOOK_SECRET, webhookUrl: `${api.baseUrl}/hooks/stripe` });
  }, 60_000);

  afterAll(async () => {
    await worker?.stop();
    const queues = api?.app.get(Queues);
    for (const name of QUEUE_NAMES) await queues?.get(name).obliterate({ force: true });
    await owner?.end();
    await api?.close();
    await sim?.close();
  });

  it('a report resent after a SIGKILL between the call and its record is counted once', async () => {
    const tenant = await seedTenant(api.config, 'Billing faults');
    // A conversation on a Telegram inbox at the simulator.
    const config = { botToken: `${Date.now() % 1e9}1:AAHk3x9Qm2LwP0vR5sT8uY1zB4cD6eF7gH`, secretToken: 'sec_faults', apiBaseUrl: sim.baseUrl };
    const inbox = await api.request('POST', '/v1/inboxes', { token: tenant.apiKey, body: { name: 'Telegram', channel: 'telegram', config } });
    expect(inbox.status, JSON.stringify(inbox.body)).toBe(201);
    const account = await sim.registerAccount({ channel: 'telegram', ...config, hookUrl: inbox.body.webhookUrl });
    const text = `hello ${uuidv7()}`;
    await sim.inbound('telegram', { account: account.id, message: { from: '7123456789', name: 'Olga', text } });
    const conversationId = await vi.waitFor(async () => {
      const { rows } = await owner.query(`SELECT conversation_id FROM messages WHERE workspace_id = $1 AND body = $2`, [tenant.workspaceId, text]);
      expect(rows).toHaveLength(1);
      return rows[0].conversation_id as string;
    }, WAIT);

    // Subscribed to Team: its sends are billable.
    const checkout = await api.request('POST', '/v1/billing/checkout', { token: tenant.apiKey, body: { plan: 'team' } });
    expect(checkout.status, JSON.stringify(checkout.body)).toBe(200);
    const done = await sim.call('POST', `/_sim/stripe/checkout/${checkout.body.url.split('/').pop()}/complete`);
    const customerId: string = done.subscription.customer;
    await vi.waitFor(async () => expect((await api.request('GET', '/v1/billing', { token: tenant.apiKey })).body.plan).toBe('team'), WAIT);

    // Stripe records the meter event, then takes 5 s to answer: the worker dies in that gap.
    await sim.call('POST', '/_sim/stripe/config', { meterEventDelayMs: 5000 });
    for (const body of ['m1', 'm2', 'm3']) {
      const sent = await api.request('POST', `/v1/conversations/${conversationId}/messages`, { token: tenant.apiKey, body: { type: 'text', body } });
      expect(sent.status).toBe(202);
    }
    const meterEvents = async () =>
      ((await sim.call('GET', '/_sim/stripe/meter-events')).meterEvents as Array<{ identifier: string; duplicate: boolean; payload: Record<string, string> }>).filter(
        (event) => event.payload['stripe_customer_id'] === customerId,
      );
    await vi.waitFor(async () => expect((await meterEvents()).length).toBeGreaterThan(0), WAIT);
    await worker.kill('SIGKILL');
    const inFlight = (await meterEvents())[0]!;
    await sim.call('POST', '/_sim/stripe/config', { meterEventDelayMs: 0 });
    await worker.restart();

    await vi.waitFor(async () => {
      const { rows } = await owner.query(
        `SELECT count(*) FILTER (WHERE report_id IS NULL)::int AS unreported,
                (SELECT count(*)::int FROM billing_usage_reports r WHERE r.workspace_id = $1 AND r.reported_at IS NULL) AS pending
         FROM billing_usage WHERE workspace_id = $1`,
        [tenant.workspaceId],
      );
      expect(rows[0]).toEqual({ unreported: 0, pending: 0 });
      expect((await sim.call('GET', '/_sim/stripe/meter-events')).totals[customerId]).toBe(3);
    }, WAIT);
    const events = await meterEvents();
    // The call cut by the crash was made again (once or more: a retry, a later window's run), with the
    // same identifier, and counted once.
    const sameReport = events.filter((event) => event.identifier === inFlight.identifier).map((event) => event.duplicate);
    expect(sameReport[0]).toBe(false);
    expect(sameReport.slice(1)).toEqual(Array(sameReport.length - 1).fill(true));
    expect(sameReport.length).toBeGreaterThan(1);
    const counted = events.filter((event) => !event.duplicate);
    expect(new Set(counted.map((event) => event.identifier)).size).toBe(counted.length);
    expect(counted.reduce((sum, event) => sum + Number(event.payload['value']), 0)).toBe(3);
    const { rows } = await owner.query(`SELECT count(*)::int AS n FROM billing_usage WHERE workspace_id = $1`, [tenant.workspaceId]);
    expect(rows[0].n).toBe(3);
  }, 90_000);
});
