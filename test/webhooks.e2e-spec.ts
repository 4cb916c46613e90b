import { createServer, type IncomingHttpHeaders, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { INestApplicationContext } from '@nestjs/common';
import pg from 'pg';
import { Webhook } from 'standardwebhooks';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type EventEnvelope, type EventType, uuidv7 } from '#domain';
import { TenantDb } from '#database';
import { Outbox, Queues } from '#queue';
import { ApiHarness, seedTenant, type SeededTenant, startWorker } from '#testing';
import { DELIVERIES_PER_BATCH, FIRST_TRY_WAIT_MS, RETRY_SCHEDULE_MS, WebhookDeliveryService, WebhookFanout, WebhookFirstTriesRepository } from '#webhooks';

/**
 * Integrator webhooks end to end: the API and the worker in this process on real Postgres and Redis,
 * and a local receiver (http on 127.0.0.1, so ALLOW_PRIVATE_URLS is on here; the https-only and
 * private-address refusals run against a second API with the switch off). The retry clock is
 * compressed 20,000 times (WEBHOOK_RETRY_SCALE): the whole 27.6-hour schedule takes about 5 seconds.
 * Signatures are checked with the official `standardwebhooks` package, never with Ferry's own code.
 */

const SCALE = 0.00005;
const TIMEOUT_MS = 800;
const WAIT = { timeout: 25_000, interval: 50 };

interface Received {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  at: number;
}

type Behaviour = (hit: number, res: ServerResponse) => void | Promise<void>;

/** The receiver: each path answers by its own script, given how many times it was hit before. */
class Receiver {
  readonly received: Received[] = [];
  private readonly behaviours = new Map<string, Behaviour>();
  private readonly inFlight = new Map<string, number>();
  readonly maxInFlight = new Map<string, number>();
  private server!: Server;
  url = '';

  async start(): Promise<void> {
    this.server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (chunk: Buffer) => chunks.push(chunk));
      req.on('end', async () => {
        const path = req.url ?? '/';
        const hit = this.received.filter((r) => r.path === path).length;
        this.received.push({ path, headers: req.headers, body: Buffer.concat(chunks).toString('utf8'), at: Date.now() });
        const now = (this.inFlight.get(path) ?? 0) + 1;
        this.inFlight.set(path, now);
        this.maxInFlight.set(path, Math.max(now, this.maxInFlight.get(path) ?? 0));
        try {
          await (this.behaviours.get(path) ?? ((_n, r) => void r.end('ok')))(hit, res);
        } finally {
          this.inFlight.set(path, (this.inFlight.get(path) ?? 1) - 1);
        }
      });
    });
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }

  on(path: string, behaviour: Behaviour): string {
    this.behaviours.set(path, behaviour);
    return `${this.url}${path}`;
  }

  at(path: string): Received[] {
    return this.received.filter((r) => r.path === path);
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise((resolve) => this.server.close(resolve));
  }
}

const status = (code: number, body = ''): Behaviour => (_hit, res) => {
  res.statusCode = code;
  res.end(body);
};
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('integrator webhooks end to end', () => {
  let api: ApiHarness;
  let strictApi: ApiHarness;
  let worker: INestApplicationContext;
  let tenant: SeededTenant;
  let receiver: Receiver;
  let owner: pg.Client;
  let path = 0;

  beforeAll(async () => {
    receiver = new Receiver();
    await receiver.start();
    api = await ApiHarness.start({
      ALLOW_PRIVATE_URLS: 'true',
      RATE_LIMIT_PER_MINUTE: '100000',
      WEBHOOK_RETRY_SCALE: String(SCALE),
      WEBHOOK_TIMEOUT_MS: String(TIMEOUT_MS),
      WEBHOOK_MAX_IN_FLIGHT_PER_ENDPOINT: '2',
      WORKER_CONCURRENCY_WEBHOOKS: '6',
    });
    strictApi = await ApiHarness.start({ RATE_LIMIT_PER_MINUTE: '100000' });
    worker = await startWorker(api.config);
    tenant = await seedTenant(api.config, 'Webhooks e2e');
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
  });

  afterAll(async () => {
    await worker?.close();
    await api?.close();
    await strictApi?.close();
    await owner?.end();
    await receiver?.close();
  });

  const call = (method: string, url: string, body?: unknown) => api.request(method, url, { token: tenant.apiKey, body });

  async function endpoint(behaviour: Behaviour, events: EventType[] = ['contact.created']): Promise<{ id: string; secret: string; path: string }> {
    const p = `/hook-${++path}`;
    const created = await call('POST', '/v1/webhook-endpoints', { url: receiver.on(p, behaviour), events });
    expect(created.status).toBe(201);
    return { id: created.body.id, secret: created.body.secret, path: p };
  }

  /** An event as the event worker hands it to the fan-out (the outbox job `event.dispatch`). */
  async function emit(type: EventType = 'contact.created'): Promise<EventEnvelope> {
    const event: EventEnvelope = { id: uuidv7(), type, createdAt: new Date().toISOString(), workspaceId: tenant.workspaceId, data: { contact: { id: uuidv7() } } };
    await worker.get(WebhookFanout).fanOut(event);
    return event;
  }

  async function deliveries(endpointId: string) {
    const page = await call('GET', `/v1/webhook-endpoints/${endpointId}/deliveries?limit=100`);
    expect(page.status).toBe(200);
    return page.body.data as Array<{ id: string; eventId: string; status: string; attemptCount: number; replayOf: string | null; attempts: Array<{ attempt: number; attemptedAt: string; succeeded: boolean; statusCode: number | null; latencyMs: number; responseExcerpt: string | null; error: string | null }> }>;
  }

  function verify(secret: string, hit: Received): unknown {
    return new Webhook(secret).verify(hit.body, {
      'webhook-id': String(hit.headers['webhook-id']),
      'webhook-timestamp': String(hit.headers['webhook-timestamp']),
      'webhook-signature': String(hit.headers['webhook-signature']),
    });
  }

  it('creates an endpoint with a whsec_ secret shown once, and signs each delivery so standardwebhooks verifies it', async () => {
    const ep = await endpoint(status(200));
    expect(ep.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/);
    expect(Buffer.from(ep.secret.slice(6), 'base64')).toHaveLength(32);
    const shown = await call('GET', `/v1/webhook-endpoints/${ep.id}`);
    expect(shown.body).toMatchObject({ id: ep.id, enabled: true, events: ['contact.created'], disabledAt: null });
    expect(shown.body.secret).toBeUndefined();
    const { rows } = await owner.query(`SELECT secret_sealed FROM webhook_endpoints WHERE id = $1`, [ep.id]);
    expect(rows[0].secret_sealed).not.toContain(ep.secret.slice(6, 20));

    const event = await emit();
    await vi.waitFor(() => expect(receiver.at(ep.path)).toHaveLength(1), WAIT);
    const hit = receiver.at(ep.path)[0]!;
    expect(hit.headers['webhook-id']).toBe(event.id);
    expect(verify(ep.secret, hit)).toEqual(event);
    expect(() => verify(`whsec_${Buffer.alloc(32, 7).toString('base64')}`, hit)).toThrow();
    await vi.waitFor(async () => expect((await deliveries(ep.id))[0]).toMatchObject({ eventId: event.id, status: 'succeeded', attemptCount: 1 }), WAIT);
  });

  it('delivers a real change: a contact created through the API arrives as contact.created', async () => {
    const ep = await endpoint(status(204));
    const contact = await call('POST', '/v1/contacts', { name: 'Webhook Wanda', email: `wanda-${uuidv7()}@example.test` });
    expect(contact.status).toBe(201);
    await vi.waitFor(() => expect(receiver.at(ep.path).length).toBeGreaterThanOrEqual(1), WAIT);
    const payload = verify(ep.secret, receiver.at(ep.path)[0]!) as EventEnvelope;
    expect(payload).toMatchObject({ type: 'contact.created', workspaceId: tenant.workspaceId });
    expect(JSON.stringify(payload.data)).toContain(contact.body.id);
  });

  it('retries a failing endpoint on the compressed schedule until it answers 2xx, logging every attempt', async () => {
    const ep = await endpoint((hit, res) => {
      res.statusCode = hit < 4 ? 503 : 200;
      res.end(hit < 4 ? `down ${hit}` : 'finally');
    });
    const event = await emit();
    await vi.waitFor(async () => expect((await deliveries(ep.id))[0]?.status).toBe('succeeded'), WAIT);
    const [delivery] = await deliveries(ep.id);
    expect(delivery!.attempts.map((a) => [a.attempt, a.statusCode, a.succeeded])).toEqual([[1, 503, false], [2, 503, false], [3, 503, false], [4, 503, false], [5, 200, true]]);
    expect(delivery!.attempts[0]).toMatchObject({ responseExcerpt: 'down 0', error: 'HTTP 503' });
    expect(delivery!.attempts[4]!.responseExcerpt).toBe('finally');
    // Each retry waited at least its scheduled delay (less 10 % jitter).
    const times = delivery!.attempts.map((a) => Date.parse(a.attemptedAt));
    for (let n = 1; n < times.length; n++) expect(times[n]! - times[n - 1]!).toBeGreaterThanOrEqual(Math.floor(RETRY_SCHEDULE_MS[n]! * SCALE * 0.9));
    // The same webhook-id on every try, and each verifies.
    const hits = receiver.at(ep.path);
    expect(hits).toHaveLength(5);
    expect(new Set(hits.map((h) => h.headers['webhook-id']))).toEqual(new Set([event.id]));
    for (const hit of hits) expect(verify(ep.secret, hit)).toEqual(event);
  });

  it('gives up after 8 tries on the published schedule, and keeps every attempt in the log', async () => {
    const ep = await endpoint(status(500, 'broken'));
    await emit();
    await vi.waitFor(async () => expect((await deliveries(ep.id))[0]?.status).toBe('failed'), WAIT);
    const [delivery] = await deliveries(ep.id);
    expect(delivery!.attempts).toHaveLength(8);
    expect(receiver.at(ep.path)).toHaveLength(8);
    const times = delivery!.attempts.map((a) => Date.parse(a.attemptedAt));
    for (let n = 1; n < times.length; n++) {
      const gap = times[n]! - times[n - 1]!;
      expect(gap).toBeGreaterThanOrEqual(Math.floor(RETRY_SCHEDULE_MS[n]! * SCALE * 0.9));
      expect(gap).toBeLessThan(RETRY_SCHEDULE_MS[n]! * SCALE * 1.1 + 1500);
    }
    // A 27.6-hour schedule failing throughout is not 5 days: the endpoint stays enabled.
    expect((await call('GET', `/v1/webhook-endpoints/${ep.id}`)).body.enabled).toBe(true);
  });

  it('counts a timeout as a failure and retries it, losing nothing', async () => {
    const ep = await endpoint(async (hit, res) => {
      if (hit === 0) await sleep(TIMEOUT_MS + 700);
      res.end('late or not');
    });
    await emit();
    await vi.waitFor(async () => expect((await deliveries(ep.id))[0]?.status).toBe('succeeded'), WAIT);
    const [delivery] = await deliveries(ep.id);
    expect(delivery!.attempts[0]).toMatchObject({ succeeded: false, statusCode: null, error: `No answer within ${TIMEOUT_MS} ms` });
    expect(delivery!.attempts[0]!.latencyMs).toBeGreaterThanOrEqual(TIMEOUT_MS - 50);
    expect(delivery!.attempts[1]).toMatchObject({ succeeded: true, statusCode: 200 });
  });

  it('does not follow redirects: a 3xx is a failure, retried', async () => {
    const target = receiver.on('/redirect-target', status(200));
    const ep = await endpoint((hit, res) => {
      res.statusCode = hit < 2 ? 307 : 200;
      if (hit < 2) res.setHeader('location', target);
      res.end();
    });
    await emit();
    await vi.waitFor(async () => expect((await deliveries(ep.id))[0]?.status).toBe('succeeded'), WAIT);
    const [delivery] = await deliveries(ep.id);
    expect(delivery!.attempts.map((a) => a.statusCode)).toEqual([307, 307, 200]);
    expect(delivery!.attempts[0]!.error).toBe('Redirect (307) not followed');
    expect(receiver.at('/redirect-target')).toHaveLength(0);
  });

  it('disables the endpoint at once on 410 Gone, and delivers nothing more to it', async () => {
    const ep = await endpoint(status(410, 'gone for good'));
    await emit();
    await vi.waitFor(async () => expect((await call('GET', `/v1/webhook-endpoints/${ep.id}`)).body.enabled).toBe(false), WAIT);
    const shown = (await call('GET', `/v1/webhook-endpoints/${ep.id}`)).body;
    expect(shown.disabledAt).not.toBeNull();
    expect(shown.disabledReason).toContain('410');
    const [delivery] = await deliveries(ep.id);
    expect(delivery).toMatchObject({ status: 'failed', attemptCount: 1 });
    await emit();
    await sleep(300);
    expect(await deliveries(ep.id)).toHaveLength(1);
    expect(receiver.at(ep.path)).toHaveLength(1);
    // Replay is refused while disabled; enabling brings it back.
    expect((await call('POST', `/v1/webhook-deliveries/${delivery!.id}/replay`)).body.code).toBe('webhook_endpoint.disabled');
    const enabled = await call('PATCH', `/v1/webhook-endpoints/${ep.id}`, { enabled: true });
    expect(enabled.body).toMatchObject({ enabled: true, disabledAt: null, disabledReason: null });
  });

  it('disables an endpoint that has failed without a success for 5 days (compressed), saying so', async () => {
    const ep = await endpoint(status(502, 'bad gateway'));
    // Its failing streak began 5 compressed days (21.6 s) ago: the next failure ends it.
    await owner.query(`UPDATE webhook_endpoints SET failing_since = now() - interval '30 seconds' WHERE id = $1`, [ep.id]);
    await emit();
    await vi.waitFor(async () => expect((await call('GET', `/v1/webhook-endpoints/${ep.id}`)).body.enabled).toBe(false), WAIT);
    const shown = (await call('GET', `/v1/webhook-endpoints/${ep.id}`)).body;
    expect(shown.disabledReason).toContain('5 days');
    expect((await deliveries(ep.id))[0]).toMatchObject({ status: 'failed', attemptCount: 1 });
  });

  it('a success ends the failing streak: an endpoint that recovers is not disabled later', async () => {
    const ep = await endpoint(status(200));
    await owner.query(`UPDATE webhook_endpoints SET failing_since = now() - interval '30 seconds' WHERE id = $1`, [ep.id]);
    await emit();
    await vi.waitFor(async () => expect((await deliveries(ep.id))[0]?.status).toBe('succeeded'), WAIT);
    const { rows } = await owner.query(`SELECT failing_since FROM webhook_endpoints WHERE id = $1`, [ep.id]);
    expect(rows[0].failing_since).toBeNull();
  });

  it('revives a delivery whose job was lost (Postgres is the record of intent)', async () => {
    const ep = await endpoint(status(200));
    const deliveryId = uuidv7();
    const eventId = uuidv7();
    const body = JSON.stringify({ id: eventId, type: 'contact.created', createdAt: new Date().toISOString(), workspaceId: tenant.workspaceId, data: {} });
    // A delivery pending for 10 minutes whose published job never reached (or vanished from) Redis.
    await owner.query(
      `INSERT INTO webhook_deliveries (id, workspace_id, endpoint_id, event_id, event_type, body, status, next_attempt_at, created_at)
       VALUES ($1, $2, $3, $4, 'contact.created', $5, 'pending', now() - interval '10 minutes', now() - interval '10 minutes')`,
      [deliveryId, tenant.workspaceId, ep.id, eventId, body],
    );
    await owner.query(
      `INSERT INTO outbox (id, workspace_id, job_name, payload, published_at, created_at)
       VALUES ($1, $2, 'webhook.deliver', $3, now() - interval '10 minutes', now() - interval '10 minutes')`,
      [uuidv7(), tenant.workspaceId, JSON.stringify({ workspaceId: tenant.workspaceId, deliveryId })],
    );
    expect(await worker.get(Outbox).recoverStalled(60_000)).toBeGreaterThanOrEqual(1);
    await vi.waitFor(() => expect(receiver.at(ep.path)).toHaveLength(1), WAIT);
    expect(receiver.at(ep.path)[0]!.headers['webhook-id']).toBe(eventId);
    await vi.waitFor(async () => expect((await deliveries(ep.id))[0]?.status).toBe('succeeded'), WAIT);
  });

  describe('first tries in the event job, the rest in one batch job per event', () => {
    /** The batch outbox rows of an event, each with its delivery ids. */
    async function batchesOf(eventId: string): Promise<Array<{ id: string; ids: string[]; published_at: Date | null }>> {
      const { rows } = await owner.query(
        `SELECT o.id, o.payload->'deliveryIds' AS ids, o.published_at FROM outbox o
         WHERE o.job_name = 'webhook.deliver_batch' AND o.id IN (SELECT batch_id FROM webhook_deliveries WHERE event_id = $1)`,
        [eventId],
      );
      return rows;
    }

    /** The webhook jobs written for the deliveries of an event (batches, or one delivery each). */
    async function webhookJobsOf(eventId: string): Promise<number> {
      const { rows } = await owner.query(
        `SELECT count(*)::int AS n FROM outbox o
         WHERE (o.job_name = 'webhook.deliver_batch' AND o.id IN (SELECT batch_id FROM webhook_deliveries WHERE event_id = $1))
            OR (o.job_name = 'webhook.deliver' AND (o.payload->>'deliveryId')::uuid IN (SELECT id FROM webhook_deliveries WHERE event_id = $1))`,
        [eventId],
      );
      return rows[0].n;
    }

    it('writes a delivery answered 2xx once, settled, by the event job itself: no job, no batch', async () => {
      const ep = await endpoint(status(200, 'thanks'), ['contact.updated']);
      const event = await emit('contact.updated');
      // Recorded before the event job ended: nothing to wait for.
      const [delivery] = await deliveries(ep.id);
      expect(delivery).toMatchObject({ eventId: event.id, status: 'succeeded', attemptCount: 1, attempts: [{ attempt: 1, statusCode: 200, succeeded: true, responseExcerpt: 'thanks' }] });
      expect(await webhookJobsOf(event.id)).toBe(0);
      expect(verify(ep.secret, receiver.at(ep.path)[0]!)).toEqual(event);
    });

    it('gives each delivery of an event its own outcome: a success written at once, a retried failure and a 410 handed to one batch', async () => {
      const ok = await endpoint(status(200, 'fine'), ['message.created']);
      const flaky = await endpoint((hit, res) => {
        res.statusCode = hit === 0 ? 503 : 200;
        res.end();
      }, ['message.created']);
      const gone = await endpoint(status(410), ['message.created']);
      const event = await emit('message.created');
      const batches = await batchesOf(event.id);
      expect(batches).toHaveLength(1);
      expect(batches[0]!.ids).toHaveLength(2);
      await vi.waitFor(async () => expect((await deliveries(flaky.id))[0]?.status).toBe('succeeded'), WAIT);
      await vi.waitFor(async () => expect((await deliveries(gone.id))[0]?.status).toBe('failed'), WAIT);
      expect((await deliveries(ok.id))[0]).toMatchObject({ status: 'succeeded', attemptCount: 1, attempts: [{ attempt: 1, statusCode: 200, succeeded: true, responseExcerpt: 'fine' }] });
      const [retried] = await deliveries(flaky.id);
      expect(retried!.attempts.map((a) => [a.attempt, a.statusCode])).toEqual([[1, 503], [2, 200]]);
      // The retry went on as a job of its own, written through the outbox with the schedule.
      const { rows } = await owner.query(`SELECT 1 FROM outbox WHERE job_name = 'webhook.deliver' AND payload->>'deliveryId' = $1`, [retried!.id]);
      expect(rows).toHaveLength(1);
      expect((await call('GET', `/v1/webhook-endpoints/${gone.id}`)).body.enabled).toBe(false);
      expect((await call('GET', `/v1/webhook-endpoints/${ok.id}`)).body.enabled).toBe(true);
      for (const ep of [ok, flaky, gone]) expect(new Set(receiver.at(ep.path).map((h) => h.headers['webhook-id']))).toEqual(new Set([event.id]));
      expect(receiver.at(ok.path)).toHaveLength(1);
      expect(receiver.at(gone.path)).toHaveLength(1);
      // The batch row is marked once every answer handed to it is recorded.
      await vi.waitFor(async () => expect((await batchesOf(event.id))[0]!.published_at).not.toBeNull(), WAIT);
    });

    it('hands off a try not answered within its wait: the event job ends, and the answer is recorded when it arrives', async () => {
      // The event job waits for half the send timeout here (FIRST_TRY_WAIT_MS in production); this answers later, in time.
      expect(TIMEOUT_MS / 2).toBeLessThan(FIRST_TRY_WAIT_MS);
      const slow = await endpoint(async (_hit, res) => {
        await sleep(TIMEOUT_MS - 150);
        res.end('late');
      }, ['contact.merged']);
      const fast = await endpoint(status(200), ['contact.merged']);
      const event = await emit('contact.merged');
      // Written pending and claimed by this worker, its batch row left unpublished while the try runs.
      expect((await deliveries(slow.id))[0]).toMatchObject({ status: 'pending', attemptCount: 0 });
      expect((await deliveries(fast.id))[0]).toMatchObject({ status: 'succeeded', attemptCount: 1 });
      const [batch] = await batchesOf(event.id);
      expect(batch).toMatchObject({ published_at: null });
      expect(batch!.ids).toHaveLength(1);
      await vi.waitFor(async () => expect((await deliveries(slow.id))[0]).toMatchObject({ status: 'succeeded', attempts: [{ statusCode: 200, responseExcerpt: 'late' }] }), WAIT);
      await vi.waitFor(async () => expect((await batchesOf(event.id))[0]!.published_at).not.toBeNull(), WAIT);
      expect(await worker.get(Queues).get('webhooks').getJob(batch!.id)).toBeUndefined();
      expect(receiver.at(slow.path)).toHaveLength(1);
      // The next test of this event type counts its own endpoints only.
      await owner.query(`UPDATE webhook_endpoints SET disabled_at = now() WHERE id = ANY($1::uuid[])`, [[slow.id, fast.id]]);
    });

    it('sends again what no row records when the event job dies before writing: nothing is lost', async () => {
      const ep = await endpoint(status(200), ['inbox.updated']);
      // Fails once, for this endpoint only (a retry an earlier test left running goes through the same method).
      const firstTries = worker.get(WebhookFirstTriesRepository);
      const recordSucceeded = firstTries.recordSucceeded.bind(firstTries);
      const failing = vi.spyOn(firstTries, 'recordSucceeded').mockImplementation((tx, tries) => {
        if (!tries.some((t) => t.endpointId === ep.id)) return recordSucceeded(tx, tries);
        failing.mockRestore();
        throw new Error('the database went away');
      });
      const event: EventEnvelope = { id: uuidv7(), type: 'inbox.updated', createdAt: new Date().toISOString(), workspaceId: tenant.workspaceId, data: {} };
      await expect(worker.get(WebhookFanout).fanOut(event)).rejects.toThrow('the database went away');
      expect(await deliveries(ep.id)).toHaveLength(0);
      // The event job runs again (BullMQ's retry): the same webhook-id, so the receiver can tell.
      await worker.get(WebhookFanout).fanOut(event);
      expect(receiver.at(ep.path).map((hit) => hit.headers['webhook-id'])).toEqual([event.id, event.id]);
      expect(await deliveries(ep.id)).toMatchObject([{ eventId: event.id, status: 'succeeded', attemptCount: 1 }]);
    });

    it('queues a hand-off through the relay when its process dies before recording the answers', async () => {
      const flaky = await endpoint((hit, res) => {
        res.statusCode = hit === 0 ? 500 : 200;
        res.end();
      }, ['conversation.created']);
      // The run dies before recording the 500: its delivery stays claimed, its batch row unpublished.
      // Fails once, for this endpoint only (a retry an earlier test left running goes through the same method).
      const service = worker.get(WebhookDeliveryService);
      const record = service.record.bind(service);
      const failing = vi.spyOn(service, 'record').mockImplementation(async (...args) => {
        if (args[2].id !== flaky.id) return record(...args);
        failing.mockRestore();
        throw new Error('the process died');
      });
      const event = await emit('conversation.created');
      const [batch] = await batchesOf(event.id);
      await sleep(300);
      expect((await batchesOf(event.id))[0]!.published_at).toBeNull();
      expect(receiver.at(flaky.path)).toHaveLength(1);
      // Once the claim lapses, the relay publishes the row like any missed job, and the delivery is tried again.
      await owner.query(`UPDATE webhook_deliveries SET claimed_until = now() - interval '1 second' WHERE event_id = $1`, [event.id]);
      expect(await worker.get(Outbox).relay(0)).toBeGreaterThanOrEqual(1);
      await vi.waitFor(async () => expect((await deliveries(flaky.id))[0]?.status).toBe('succeeded'), WAIT);
      expect(receiver.at(flaky.path)).toHaveLength(2);
      expect(batch!.ids).toEqual([(await deliveries(flaky.id))[0]!.id]);
    });

    it('splits an event with more endpoints than a batch holds into several batch jobs, each endpoint served once', async () => {
      const many: Array<{ path: string }> = [];
      for (let n = 0; n <= DELIVERIES_PER_BATCH; n++) many.push(await endpoint(status(200), ['contact.merged']));
      const event = await emit('contact.merged');
      const batches = await batchesOf(event.id);
      expect(batches.map((b) => b.ids.length).sort((x, y) => x - y)).toEqual([1, DELIVERIES_PER_BATCH]);
      await vi.waitFor(() => expect(many.filter((ep) => receiver.at(ep.path).length === 1)).toHaveLength(many.length), WAIT);
      // Fanned out again (the event job re-run after a crash): nothing new is written or sent.
      await worker.get(WebhookFanout).fanOut(event);
      expect(await batchesOf(event.id)).toHaveLength(2);
      await sleep(300);
      expect(many.every((ep) => receiver.at(ep.path).length === 1)).toBe(true);
    });

    it('runs a batch again without sending twice: settled deliveries and deliveries held by another worker are left alone', async () => {
      const ep = await endpoint(status(200), ['message.updated']);
      const held = await endpoint(status(200), ['message.updated']);
      const event = await emit('message.updated');
      const { rows } = await owner.query(`SELECT id FROM webhook_deliveries WHERE event_id = $1`, [event.id]);
      const ids = rows.map((r: { id: string }) => r.id);
      expect(ids).toHaveLength(2);
      await worker.get(WebhookDeliveryService).deliverBatch(tenant.workspaceId, ids);
      await worker.get(WebhookDeliveryService).deliverBatch(tenant.workspaceId, ids);
      // `held` is being tried by another worker: its claim has not lapsed.
      const [heldDelivery] = await deliveries(held.id);
      await owner.query(`UPDATE webhook_deliveries SET status = 'pending', claimed_until = now() + interval '1 minute' WHERE id = $1`, [heldDelivery!.id]);
      await worker.get(WebhookDeliveryService).deliverBatch(tenant.workspaceId, ids);
      await sleep(300);
      expect(receiver.at(ep.path)).toHaveLength(1);
      expect(receiver.at(held.path)).toHaveLength(1);
      expect((await deliveries(ep.id))[0]!.attempts).toHaveLength(1);
      await owner.query(`UPDATE webhook_deliveries SET status = 'succeeded', claimed_until = NULL WHERE id = $1`, [heldDelivery!.id]);
    });

    it('revives a lost batch job after a crash: only what is still pending is sent, once its claim has lapsed', async () => {
      const done = await endpoint(status(200), ['conversation.created']);
      const crashed = await endpoint(status(200), ['conversation.created']);
      const [batchId, eventId] = [uuidv7(), uuidv7()];
      const body = JSON.stringify({ id: eventId, type: 'conversation.created', createdAt: new Date().toISOString(), workspaceId: tenant.workspaceId, data: {} });
      const [doneId, crashedId] = [uuidv7(), uuidv7()];
      // One delivery recorded before the crash; the other claimed by the worker that died (its claim lapsed since).
      await owner.query(
        `INSERT INTO webhook_deliveries (id, workspace_id, endpoint_id, event_id, event_type, body, status, attempt_count, next_attempt_at, claimed_until, batch_id, created_at)
         VALUES ($1, $3, $4, $6, 'conversation.created', $7, 'succeeded', 1, NULL, NULL, $8, now() - interval '10 minutes'),
                ($2, $3, $5, $6, 'conversation.created', $7, 'pending', 0, now() - interval '10 minutes', now() - interval '8 minutes', $8, now() - interval '10 minutes')`,
        [doneId, crashedId, tenant.workspaceId, done.id, crashed.id, eventId, body, batchId],
      );
      await owner.query(
        `INSERT INTO outbox (id, workspace_id, job_name, payload, published_at, created_at)
         VALUES ($1, $2, 'webhook.deliver_batch', $3, now() - interval '10 minutes', now() - interval '10 minutes')`,
        [batchId, tenant.workspaceId, JSON.stringify({ workspaceId: tenant.workspaceId, deliveryIds: [doneId, crashedId] })],
      );
      expect(await worker.get(Outbox).recoverStalled(60_000)).toBeGreaterThanOrEqual(1);
      await vi.waitFor(() => expect(receiver.at(crashed.path)).toHaveLength(1), WAIT);
      expect(receiver.at(crashed.path)[0]!.headers['webhook-id']).toBe(eventId);
      await vi.waitFor(async () => expect((await deliveries(crashed.id))[0]?.status).toBe('succeeded'), WAIT);
      await sleep(300);
      expect(receiver.at(done.path)).toHaveLength(0);
      // Nothing pending is left: the next pass revives nothing of this batch.
      const { rows } = await owner.query(`SELECT id FROM ferry_outbox_stalled(make_interval(secs => 60), 1000) WHERE id = $1`, [batchId]);
      expect(rows).toHaveLength(0);
    });
  });

  it('replays a delivery with the same webhook-id', async () => {
    const ep = await endpoint(status(200));
    const event = await emit();
    await vi.waitFor(async () => expect((await deliveries(ep.id))[0]?.status).toBe('succeeded'), WAIT);
    const [original] = await deliveries(ep.id);
    const replay = await call('POST', `/v1/webhook-deliveries/${original!.id}/replay`);
    expect(replay.status).toBe(202);
    expect(replay.body).toMatchObject({ eventId: event.id, replayOf: original!.id, status: 'pending' });
    await vi.waitFor(() => expect(receiver.at(ep.path)).toHaveLength(2), WAIT);
    const [first, second] = receiver.at(ep.path);
    expect(second!.headers['webhook-id']).toBe(first!.headers['webhook-id']);
    expect(verify(ep.secret, second!)).toEqual(event);
    await vi.waitFor(async () => expect((await deliveries(ep.id)).map((d) => d.status)).toEqual(['succeeded', 'succeeded']), WAIT);
  });

  it('signs with both the old and the new secret after a rotation', async () => {
    const ep = await endpoint(status(200));
    const rotated = await call('POST', `/v1/webhook-endpoints/${ep.id}/rotate-secret`);
    expect(rotated.status).toBe(200);
    expect(rotated.body.secret).toMatch(/^whsec_/);
    expect(rotated.body.secret).not.toBe(ep.secret);
    await emit();
    await vi.waitFor(() => expect(receiver.at(ep.path)).toHaveLength(1), WAIT);
    const hit = receiver.at(ep.path)[0]!;
    expect(String(hit.headers['webhook-signature']).split(' ')).toHaveLength(2);
    expect(verify(rotated.body.secret, hit)).toBeTruthy();
    expect(verify(ep.secret, hit)).toBeTruthy();
  });

  it('test-sends a webhook.test event now and answers the logged attempt', async () => {
    const ep = await endpoint(status(202, 'accepted'));
    const sent = await call('POST', `/v1/webhook-endpoints/${ep.id}/test`);
    expect(sent.status).toBe(200);
    expect(sent.body).toMatchObject({ eventType: 'webhook.test', test: true, status: 'succeeded', attempts: [{ attempt: 1, statusCode: 202, succeeded: true, responseExcerpt: 'accepted' }] });
    expect(verify(ep.secret, receiver.at(ep.path)[0]!)).toMatchObject({ type: 'webhook.test' });
    const failing = await endpoint(status(500, 'nope'));
    const failed = await call('POST', `/v1/webhook-endpoints/${failing.id}/test`);
    expect(failed.body).toMatchObject({ status: 'failed', attempts: [{ statusCode: 500, succeeded: false }] });
  });

  it('keeps a slow endpoint from delaying another: the slow one holds at most its in-flight cap', async () => {
    const slow = await endpoint(async (_hit, res) => {
      await sleep(600);
      res.end('slow');
    }, ['conversation.updated']);
    const fast = await endpoint(status(200), ['conversation.updated']);
    const started = Date.now();
    // Eight event jobs, each started before the one before it has ended (the events queue runs them
    // concurrently), a little apart, so the fast endpoint never meets its own in-flight cap.
    const emitted: Array<Promise<EventEnvelope>> = [];
    for (let n = 0; n < 8; n++) {
      emitted.push(emit('conversation.updated'));
      await sleep(25);
    }
    await Promise.all(emitted);
    await vi.waitFor(() => expect(receiver.at(fast.path)).toHaveLength(8), WAIT);
    await vi.waitFor(() => expect(receiver.at(slow.path)).toHaveLength(8), WAIT);
    expect(receiver.maxInFlight.get(slow.path)).toBeLessThanOrEqual(2);
    // Eight 600 ms calls two at a time need four rounds; the fast endpoint was served in full before the third began
    // (relative, not wall-clock, so a loaded machine does not decide it).
    const slowHits = receiver.at(slow.path).map((hit) => hit.at);
    expect(Math.max(...receiver.at(fast.path).map((hit) => hit.at))).toBeLessThan(slowHits[4]!);
    expect(slowHits[7]! - started).toBeGreaterThanOrEqual(1800);
  });

  it('fans out idempotently: the same event twice is one delivery per endpoint', async () => {
    const ep = await endpoint(status(200), ['inbox.updated']);
    const event: EventEnvelope = { id: uuidv7(), type: 'inbox.updated', createdAt: new Date().toISOString(), workspaceId: tenant.workspaceId, data: {} };
    await worker.get(WebhookFanout).fanOut(event);
    await worker.get(WebhookFanout).fanOut(event);
    await vi.waitFor(() => expect(receiver.at(ep.path)).toHaveLength(1), WAIT);
    await sleep(300);
    const [delivery] = await deliveries(ep.id);
    expect(await deliveries(ep.id)).toHaveLength(1);
    expect(receiver.at(ep.path)).toHaveLength(1);
    expect(delivery).toMatchObject({ status: 'succeeded', attemptCount: 1 });
    expect(delivery!.attempts).toHaveLength(1);
  });

  it("fans out several workspaces' events at once in shared transactions, each workspace's endpoints and deliveries its own", async () => {
    const other = await seedTenant(api.config, 'Webhooks e2e, another workspace');
    const mine = await endpoint(status(200), ['inbox.updated']);
    const theirs = `/hook-${++path}`;
    const created = await api.request('POST', '/v1/webhook-endpoints', { token: other.apiKey, body: { url: receiver.on(theirs, status(200)), events: ['inbox.updated'] } });
    expect(created.status).toBe(201);
    const shared = vi.spyOn(worker.get(TenantDb), 'commitAcross');
    const events: EventEnvelope[] = [tenant, other, tenant, other].map(({ workspaceId }) => ({ id: uuidv7(), type: 'inbox.updated', createdAt: new Date().toISOString(), workspaceId, data: {} }));
    try {
      await Promise.all(events.map((event) => worker.get(WebhookFanout).fanOut(event)));
      // The four events' endpoints were read in one transaction, whatever the two workspaces' timing.
      expect(shared.mock.calls.map(([parts]) => parts.map((part) => part.workspaceId))).toContainEqual(events.map((event) => event.workspaceId));
    } finally {
      shared.mockRestore();
    }
    const idsOf = (workspaceId: string) => events.filter((event) => event.workspaceId === workspaceId).map((event) => event.id).sort();
    expect(receiver.at(mine.path).map((hit) => hit.headers['webhook-id']).sort()).toEqual(idsOf(tenant.workspaceId));
    expect(receiver.at(theirs).map((hit) => hit.headers['webhook-id']).sort()).toEqual(idsOf(other.workspaceId));
    expect((await deliveries(mine.id)).map((d) => [d.eventId, d.status, d.attempts.length]).sort()).toEqual(idsOf(tenant.workspaceId).map((id) => [id, 'succeeded', 1]));
    const { rows } = await owner.query(`SELECT workspace_id, event_id, status FROM webhook_deliveries WHERE endpoint_id = $1 ORDER BY event_id`, [created.body.id]);
    expect(rows).toEqual(idsOf(other.workspaceId).map((id) => ({ workspace_id: other.workspaceId, event_id: id, status: 'succeeded' })));
  });

  describe('bad input answers problem+json and writes nothing', () => {
    async function endpointCount(): Promise<number> {
      const { rows } = await owner.query(`SELECT count(*)::int AS n FROM webhook_endpoints WHERE workspace_id = $1`, [tenant.workspaceId]);
      return rows[0].n;
    }

    it.each([
      [{ url: 'not a url', events: ['message.created'] }, 'webhook_endpoint.invalid_url', 'url'],
      [{ url: 'ftp://files.example.com/in', events: ['message.created'] }, 'webhook_endpoint.invalid_url', 'url'],
      [{ url: 'https://user:pw@hooks.example.com/in', events: ['message.created'] }, 'webhook_endpoint.invalid_url', 'url'],
      [{ url: 'https://hooks.example.com/in', events: ['message.exploded'] }, 'webhook_endpoint.unknown_event_type', 'events'],
      [{ url: 'https://hooks.example.com/in', events: [] }, 'request.invalid', 'events'],
      [{ url: 'https://hooks.example.com/in', events: ['message.created'], secret: 'mine' }, 'request.invalid', 'secret'],
      [{ events: ['message.created'] }, 'request.invalid', 'url'],
    ])('%j → %s', async (body, code, field) => {
      const before = await endpointCount();
      const answer = await call('POST', '/v1/webhook-endpoints', body);
      expect(answer.status).toBe(400);
      expect(answer.headers.get('content-type')).toContain('application/problem+json');
      expect(answer.body.code).toBe(code);
      expect(answer.body.errors.map((e: { field: string }) => e.field)).toContain(field);
      expect(await endpointCount()).toBe(before);
    });

    it('refuses a bad change to an endpoint and keeps it as it was', async () => {
      const ep = await endpoint(status(200));
      const answer = await call('PATCH', `/v1/webhook-endpoints/${ep.id}`, { events: ['nope'] });
      expect(answer.body.code).toBe('webhook_endpoint.unknown_event_type');
      expect((await call('GET', `/v1/webhook-endpoints/${ep.id}`)).body.events).toEqual(['contact.created']);
    });

    it('answers 404 for an unknown endpoint or delivery', async () => {
      expect((await call('GET', `/v1/webhook-endpoints/${uuidv7()}`)).body.code).toBe('webhook_endpoint.not_found');
      expect((await call('GET', '/v1/webhook-endpoints/not-a-uuid')).status).toBe(404);
      expect((await call('POST', `/v1/webhook-deliveries/${uuidv7()}/replay`)).body.code).toBe('webhook_delivery.not_found');
    });
  });

  describe('SSRF: with ALLOW_PRIVATE_URLS off', () => {
    it.each([
      ['http://hooks.example.com/in', 'must be an https URL'],
      ['https://localhost/in', 'must point at a public address'],
      ['https://127.0.0.1/in', 'must point at a public address'],
      ['https://10.0.0.8/in', 'must point at a public address'],
      ['https://169.254.169.254/latest/meta-data', 'must point at a public address'],
      ['https://[::ffff:127.0.0.1]/in', 'must point at a public address'],
      ['https://[fd00:ec2::254]/in', 'must point at a public address'],
      ['https://metadata.google.internal/computeMetadata/v1', 'must point at a public address'],
      ['https://0x7f.1/in', 'must point at a public address'],
    ])('refuses %s', async (url, message) => {
      const answer = await strictApi.request('POST', '/v1/webhook-endpoints', { token: tenant.apiKey, body: { url, events: ['message.created'] } });
      expect(answer.status).toBe(400);
      expect(answer.body).toMatchObject({ code: 'webhook_endpoint.invalid_url', errors: [{ field: 'url', message }] });
    });

    it('accepts a public https URL whose name does not resolve yet (it is checked again at every connection)', async () => {
      const answer = await strictApi.request('POST', '/v1/webhook-endpoints', { token: tenant.apiKey, body: { url: 'https://hooks.example.test/in', events: ['message.created'] } });
      expect(answer.status).toBe(201);
    });
  });
});
