import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { Stripe } from 'stripe';
import type { SimContext } from '../context.js';
import { bearerToken, header } from '../context.js';
import { asRecord, jsonBody, optNumber, optString, SimInputError } from '../input.js';
import { parseStripeForm } from './stripe-form.js';
import { now, type StripeObject, StripeStore, stripeId } from './stripe-store.js';

const API_VERSION = '2026-10-28.endive';
const PERIOD_SECONDS = 30 * 86_400;

type Params = Record<string, unknown>;

/** A Stripe API error, in Stripe's own body (the SDK turns it into its typed errors). */
class StripeApiError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/**
 * Stripe, as much as Ferry uses of it, for the real `stripe` SDK pointed here (STRIPE_API_URL):
 * form-encoded requests, `Bearer sk_...` keys, Idempotency-Key replay, Stripe-shaped objects and
 * errors; customers, Checkout and portal sessions, subscriptions (retrieve, update quantity), meter
 * events (deduplicated by identifier). Its webhooks are signed with the SDK's own test-header helper.
 * The /_sim/stripe control API completes a checkout, fails or pays an invoice, cancels, redelivers
 * events, and lists what Ferry called.
 */
export class StripeSimulator {
  readonly store = new StripeStore();
  private baseUrl = '';

  constructor(private readonly sim: SimContext) {}

  reset(): void {
    this.store.reset();
  }

  routes(app: FastifyInstance): void {
    this.api(app, 'POST', '/v1/customers', (p) => this.createCustomer(p));
    this.api(app, 'GET', '/v1/customers/:id', (_p, id) => this.found(this.store.customers, id, 'customer'));
    this.api(app, 'POST', '/v1/checkout/sessions', (p) => this.createSession(p));
    this.api(app, 'POST', '/v1/billing_portal/sessions', (p) => this.createPortal(p));
    this.api(app, 'GET', '/v1/subscriptions/:id', (_p, id) => this.found(this.store.subscriptions, id, 'subscription'));
    this.api(app, 'POST', '/v1/subscriptions/:id', (p, id) => this.updateSubscription(id, p));
    this.api(app, 'POST', '/v1/billing/meter_events', (p) => this.meterEvent(p));
    this.control(app);
  }

  /** One Stripe endpoint: key check, form decoding, Idempotency-Key replay, the call recorded, Stripe's error body. */
  private api(app: FastifyInstance, method: 'GET' | 'POST', path: string, handle: (params: Params, id: string) => unknown): void {
    app.route({
      method,
      url: path,
      handler: async (request: FastifyRequest, reply: FastifyReply) => {
        const key = bearerToken(request);
        if (!key?.startsWith('sk_') || (this.store.config.apiKey !== null && key !== this.store.config.apiKey)) {
          return reply.code(401).send({ error: { type: 'invalid_request_error', message: 'Invalid API Key provided' } });
        }
        // The URLs it answers (Checkout, portal) are on the address Ferry called.
        this.baseUrl = `${request.protocol}://${request.headers.host ?? '127.0.0.1'}`;
        const params = typeof request.body === 'string' && request.body ? parseStripeForm(request.body) : {};
        const idempotencyKey = method === 'POST' ? (header(request, 'idempotency-key') ?? null) : null;
        this.store.calls.push({ method, path: request.url, idempotencyKey, params, at: new Date().toISOString() });
        const replay = idempotencyKey ? this.store.idempotent.get(`${path} ${idempotencyKey}`) : undefined;
        if (replay) return reply.code(replay.status).header('idempotent-replayed', 'true').send(replay.body);
        let status = 200;
        let body: unknown;
        try {
          body = await handle(params, (request.params as { id?: string }).id ?? '');
        } catch (error) {
          if (!(error instanceof StripeApiError)) throw error;
          status = error.status;
          body = { error: { type: error.type, message: error.message, ...(error.code && { code: error.code }) } };
        }
        if (idempotencyKey) this.store.idempotent.set(`${path} ${idempotencyKey}`, { status, body });
        return reply.code(status).header('request-id', stripeId('req')).send(body);
      },
    });
  }

  private found(map: Map<string, StripeObject>, id: string, what: string): StripeObject {
    const object = map.get(id);
    if (!object) throw new StripeApiError(404, 'invalid_request_error', `No such ${what}: '${id}'`, 'resource_missing');
    return object;
  }

  private createCustomer(params: Params): StripeObject {
    const customer: StripeObject = { id: stripeId('cus'), object: 'customer', created: now(), email: params['email'] ?? null, name: params['name'] ?? null, metadata: params['metadata'] ?? {}, livemode: false };
    this.store.customers.set(customer.id, customer);
    return customer;
  }

  private createSession(params: Params): StripeObject {
    if (params['mode'] !== 'subscription') throw new StripeApiError(400, 'invalid_request_error', 'Only mode=subscription is simulated', 'parameter_invalid');
    const customer = this.found(this.store.customers, String(params['customer'] ?? ''), 'customer');
    const items = (params['line_items'] as Array<{ price?: string; quantity?: string }> | undefined) ?? [];
    if (items.length !== 1 || !items[0]?.price) throw new StripeApiError(400, 'invalid_request_error', 'One line item with a price is needed', 'parameter_missing');
    const id = stripeId('cs_test');
    const session: StripeObject = {
      id,
      object: 'checkout.session',
      mode: 'subscription',
      status: 'open',
      customer: customer.id,
      client_reference_id: params['client_reference_id'] ?? null,
      url: `${this.baseUrl}/checkout/${id}`,
      success_url: params['success_url'] ?? null,
      cancel_url: params['cancel_url'] ?? null,
      subscription: null,
      metadata: params['metadata'] ?? {},
      line_items: { object: 'list', data: [{ price: { id: items[0].price }, quantity: Number(items[0].quantity ?? 1) }] },
      subscription_data: params['subscription_data'] ?? {},
      created: now(),
    };
    this.store.sessions.set(id, session);
    return session;
  }

  private createPortal(params: Params): StripeObject {
    const customer = this.found(this.store.customers, String(params['customer'] ?? ''), 'customer');
    const id = stripeId('bps');
    return { id, object: 'billing_portal.session', customer: customer.id, return_url: params['return_url'] ?? null, url: `${this.baseUrl}/portal/${id}`, created: now(), livemode: false };
  }

  private updateSubscription(id: string, params: Params): StripeObject {
    const subscription = this.found(this.store.subscriptions, id, 'subscription');
    const items = (params['items'] as Array<{ id?: string; quantity?: string }> | undefined) ?? [];
    const data = (subscription['items'] as { data: Array<Record<string, unknown>> }).data;
    for (const change of items) {
      const item = data.find((candidate) => candidate['id'] === change.id);
      if (!item) throw new StripeApiError(400, 'invalid_request_error', `No such subscription item: '${change.id}'`, 'resource_missing');
      if (change.quantity !== undefined) item['quantity'] = Number(change.quantity);
    }
    void this.emit('customer.subscription.updated', subscription);
    return subscription;
  }

  private async meterEvent(params: Params): Promise<StripeObject> {
    const identifier = String(params['identifier'] ?? stripeId('mev'));
    const payload = asRecord(params['payload'] ?? {}, 'payload') as Record<string, string>;
    const duplicate = this.store.meterEvents.some((event) => event.identifier === identifier && !event.duplicate);
    this.store.meterEvents.push({ identifier, event_name: String(params['event_name'] ?? ''), payload, timestamp: Number(params['timestamp'] ?? now()), duplicate });
    if (this.store.meterEventDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.store.meterEventDelayMs));
    if (duplicate) throw new StripeApiError(400, 'invalid_request_error', `An event with identifier ${identifier} already exists`, 'resource_already_exists');
    return { id: identifier, object: 'billing.meter_event', event_name: params['event_name'], identifier, payload, timestamp: Number(params['timestamp'] ?? now()), created: now(), livemode: false };
  }

  /** Signs and posts an event to Ferry's webhook, as Stripe does. */
  private async emit(type: string, object: StripeObject, options: { id?: string; created?: number } = {}): Promise<StripeObject> {
    const event: StripeObject = {
      id: options.id ?? stripeId('evt'),
      object: 'event',
      api_version: API_VERSION,
      created: options.created ?? now(),
      type,
      data: { object: structuredClone(object) },
      livemode: false,
      pending_webhooks: 1,
      request: { id: null, idempotency_key: null },
    };
    const sent = { event, deliveries: [] as Array<{ status: number; body: unknown }> };
    this.store.events.push(sent);
    await this.deliver(sent);
    return event;
  }

  private async deliver(sent: { event: StripeObject; deliveries: Array<{ status: number; body: unknown }> }, override?: StripeObject): Promise<{ status: number; body: unknown }> {
    const url = this.store.config.webhookUrl;
    if (!url) return { status: 0, body: 'no webhookUrl configured (POST /_sim/stripe/config)' };
    const payload = JSON.stringify(override ?? sent.event);
    const signature = Stripe.webhooks.generateTestHeaderString({ payload, secret: this.store.config.webhookSecret });
    const answer = await this.sim.hooks.send(url, { headers: { 'content-type': 'application/json', 'stripe-signature': signature }, body: payload });
    const delivery = { status: answer.status, body: answer.body };
    sent.deliveries.push(delivery);
    return delivery;
  }

  private invoice(subscription: StripeObject, status: 'paid' | 'open'): StripeObject {
    return {
      id: stripeId('in'),
      object: 'invoice',
      customer: subscription['customer'],
      status,
      parent: { type: 'subscription_details', subscription_details: { subscription: subscription.id, metadata: {} } },
      created: now(),
      livemode: false,
    };
  }

  private control(app: FastifyInstance): void {
    const s = this.store;
    const subscriptionOf = (request: FastifyRequest): StripeObject => {
      const sub = s.subscriptions.get((request.params as { id: string }).id);
      if (!sub) throw new SimInputError('no such subscription');
      return sub;
    };
    app.post('/_sim/stripe/config', async (request) => {
      const body = jsonBody(request.body);
      s.config = {
        apiKey: optString(body, 'apiKey') ?? s.config.apiKey,
        webhookUrl: optString(body, 'webhookUrl') ?? s.config.webhookUrl,
        webhookSecret: optString(body, 'webhookSecret') ?? s.config.webhookSecret,
      };
      s.meterEventDelayMs = optNumber(body, 'meterEventDelayMs') ?? s.meterEventDelayMs;
      return { ...s.config, meterEventDelayMs: s.meterEventDelayMs };
    });
    // The customer pays: the session completes, the subscription starts, Stripe tells Ferry.
    app.post('/_sim/stripe/checkout/:id/complete', async (request) => {
      const session = s.sessions.get((request.params as { id: string }).id);
      if (!session) throw new SimInputError('no such checkout session');
      if (session['status'] !== 'open') throw new SimInputError('the session is not open');
      const line = (session['line_items'] as { data: Array<{ price: { id: string }; quantity: number }> }).data[0]!;
      const start = now();
      const subscription: StripeObject = {
        id: stripeId('sub'),
        object: 'subscription',
        customer: session['customer'],
        status: 'active',
        created: start,
        cancel_at_period_end: false,
        metadata: (session['subscription_data'] as { metadata?: unknown })?.metadata ?? {},
        items: {
          object: 'list',
          data: [{ id: stripeId('si'), object: 'subscription_item', price: { id: line.price.id, object: 'price' }, quantity: line.quantity, current_period_start: start, current_period_end: start + PERIOD_SECONDS }],
        },
        livemode: false,
      };
      s.subscriptions.set(subscription.id, subscription);
      Object.assign(session, { status: 'complete', subscription: subscription.id, payment_status: 'paid' });
      const events = [await this.emit('checkout.session.completed', session), await this.emit('customer.subscription.created', subscription), await this.emit('invoice.paid', this.invoice(subscription, 'paid'))];
      return { subscription, events: events.map((event) => event.id) };
    });
    app.post('/_sim/stripe/subscriptions/:id/payment-failed', async (request) => {
      const sub = subscriptionOf(request);
      sub['status'] = 'past_due';
      const events = [await this.emit('invoice.payment_failed', this.invoice(sub, 'open')), await this.emit('customer.subscription.updated', sub)];
      return { subscription: sub, events: events.map((event) => event.id) };
    });
    app.post('/_sim/stripe/subscriptions/:id/pay', async (request) => {
      const sub = subscriptionOf(request);
      sub['status'] = 'active';
      const events = [await this.emit('invoice.paid', this.invoice(sub, 'paid')), await this.emit('customer.subscription.updated', sub)];
      return { subscription: sub, events: events.map((event) => event.id) };
    });
    app.post('/_sim/stripe/subscriptions/:id/cancel', async (request) => {
      const sub = subscriptionOf(request);
      Object.assign(sub, { status: 'canceled', canceled_at: now(), ended_at: now() });
      const event = await this.emit('customer.subscription.deleted', sub);
      return { subscription: sub, events: [event.id] };
    });
    // Redelivers an event as it was (same id: a duplicate), or, with {asNew: true}, its old snapshot
    // under a new id (a late event, out of order).
    app.post('/_sim/stripe/events/:id/resend', async (request) => {
      const sent = s.events.find((candidate) => candidate.event.id === (request.params as { id: string }).id);
      if (!sent) throw new SimInputError('no such event');
      const asNew = jsonBody(request.body)['asNew'] === true;
      const override = asNew ? { ...sent.event, id: stripeId('evt') } : undefined;
      const delivery = await this.deliver(sent, override);
      return { id: override?.id ?? sent.event.id, delivery };
    });
    // What a browser sent to a Checkout or portal URL sees (the demo): completing is a /_sim call.
    app.get('/checkout/:id', async (request) => `Simulated Stripe Checkout ${(request.params as { id: string }).id}: POST /_sim/stripe/checkout/{id}/complete to pay`);
    app.get('/portal/:id', async () => 'Simulated Stripe customer portal');
    app.get('/_sim/stripe/calls', async () => ({ calls: s.calls }));
    app.get('/_sim/stripe/events', async () => ({ events: s.events }));
    app.get('/_sim/stripe/meter-events', async () => ({ meterEvents: s.meterEvents, totals: s.meterTotals() }));
  }
}
