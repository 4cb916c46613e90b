import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamicModule, type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { ConfigModule, type FerryConfig } from '#config';
import { type Channel, uuidv7 } from '#domain';
import { DatabaseModule } from '#database';
import { type ChannelAdapter, exampleChannelConfig, type OutboundMessage, type SendOutcome } from '#channels';
import { type JobContext, JobDeferred, type JobPayloads, Outbox, QueueModule, Queues, REDIS } from '#queue';
import { seedTenant, testConfig } from '#testing';
import { ContactsService } from '../contacts/contacts.service.js';
import { InboundService } from '../conversations/inbound.service.js';
import { InboxesService } from '../inboxes/inboxes.service.js';
import { MessagesService } from '../messages/messages.service.js';
import { DeliveryModule } from './delivery.module.js';
import { DeliveryService } from './delivery.service.js';
import { FallbackService } from './fallback.service.js';

/** Accepts every send (any channel), recording it. */
class AcceptingAdapter implements ChannelAdapter<unknown> {
  readonly channel: Channel = 'whatsapp';
  readonly calls: OutboundMessage[] = [];
  verify(): never {
    throw new Error('not used');
  }
  parse(): never {
    throw new Error('not used');
  }
  async send(message: OutboundMessage): Promise<SendOutcome> {
    this.calls.push(message);
    return { ok: true, providerMessageId: `prov-${this.calls.length}-${message.messageId}`, responseCode: '200' };
  }
}

function testModule(config: FerryConfig, adapter: AcceptingAdapter): DynamicModule {
  @Module({})
  class FallbackTestModule {}
  return {
    module: FallbackTestModule,
    imports: [ConfigModule.forRoot(config), DatabaseModule, QueueModule, DeliveryModule.forRoot(() => adapter as ChannelAdapter<never>)],
  };
}

/**
 * The worker's hops against real Postgres, the provider faked: the deadline check's races (a receipt
 * first, two checks at once, a check before its time) and a hop at send time, without a provider call.
 */
describe('FallbackService (hops and the delivery deadline)', () => {
  let config: FerryConfig;
  let app: INestApplicationContext;
  let owner: pg.Client;
  let delivery: DeliveryService;
  let fallback: FallbackService;
  const adapter = new AcceptingAdapter();
  let workspaceId: string;
  let whatsappInbox: string;
  let smsInbox: string;
  let jobSeq = 0;

  const job = (): JobContext => ({ jobId: `job-${++jobSeq}`, attempt: 1, maxAttempts: 8 });

  /** A customer who wrote on WhatsApp and has an SMS identity too; a reply to them on WhatsApp with SMS as fallback. */
  async function replyWithFallback(): Promise<{ id: string; whatsapp: string; sms: string; phone: string; conversationId: string }> {
    const received = await app.get(InboundService).receive(workspaceId, {
      inboxId: whatsappInbox,
      contact: { externalId: `1555${String(Date.now()).slice(-7)}` },
      message: { externalId: `in-${uuidv7()}`, body: 'Hello?' },
    });
    const conversationId = received.conversation!.id;
    const contactId = (await owner.query('SELECT contact_id FROM conversations WHERE id = $1', [conversationId])).rows[0].contact_id;
    const whatsapp = (await owner.query('SELECT id FROM contact_identities WHERE contact_id = $1', [contactId])).rows[0].id;
    const phone = `+1415${String(Date.now()).slice(-7)}`;
    const sms = await app.get(ContactsService).addIdentity(workspaceId, contactId, { inboxId: smsInbox, externalId: phone });
    const message = await app.get(MessagesService).post(workspaceId, conversationId, null, { type: 'text', body: 'Boarding at 9', via: { identityId: whatsapp }, fallback: [sms.id] });
    return { id: message.id, whatsapp, sms: sms.id, phone, conversationId };
  }

  async function row(id: string): Promise<{ status: string; identity_id: string; external_id: string | null }> {
    return (await owner.query('SELECT status, identity_id, external_id FROM messages WHERE id = $1', [id])).rows[0];
  }

  async function jobsOf(id: string, name: string): Promise<Array<JobPayloads['message.fallback_check']>> {
    const { rows } = await owner.query(`SELECT payload FROM outbox WHERE job_name = $1 AND payload->>'messageId' = $2 ORDER BY created_at, id`, [name, id]);
    return rows.map((r) => r.payload);
  }

  async function attempts(id: string): Promise<Array<Record<string, unknown>>> {
    return (await owner.query('SELECT * FROM delivery_attempts WHERE message_id = $1 ORDER BY created_at, id', [id])).rows;
  }

  const due = (check: JobPayloads['message.fallback_check']) => ({ ...check, dueAt: new Date(Date.now() - 1).toISOString() });

  beforeAll(async () => {
    const base = await testConfig();
    config = await testConfig({ REDIS_PREFIX: `${base.redis.keyPrefix}-fallback`, FALLBACK_DELIVERY_DEADLINE_MS: '60000', WHATSAPP_PAIR_INTERVAL_MS: '0' });
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
    app = await NestFactory.createApplicationContext(testModule(config, adapter), { logger: false });
    delivery = app.get(DeliveryService);
    fallback = app.get(FallbackService);
    workspaceId = (await seedTenant(config, 'Fallback workspace')).workspaceId;
    const inboxes = app.get(InboxesService);
    whatsappInbox = (await inboxes.create(workspaceId, { name: 'wa', channel: 'whatsapp', config: exampleChannelConfig('whatsapp') })).id;
    smsInbox = (await inboxes.create(workspaceId, { name: 'sms', channel: 'sms', config: { ...exampleChannelConfig('sms'), sendRatePerSecond: 100 } })).id;
  });

  afterAll(async () => {
    await app?.get(Queues).get('outbound').obliterate({ force: true });
    const redis = app?.get<Redis>(REDIS);
    const keys = redis ? await redis.keys(`${config.redis.keyPrefix}:*`) : [];
    if (keys.length > 0) await redis!.del(...keys);
    await app?.close();
    await owner?.end();
  });

  it('a hop accepted by its provider starts the deadline in the same transaction; the check waits for it', async () => {
    const message = await replyWithFallback();
    const before = Date.now();
    await delivery.send(workspaceId, message.id, job());
    const [check, more] = await jobsOf(message.id, 'message.fallback_check');
    expect(more).toBeUndefined();
    expect(check).toMatchObject({ workspaceId, messageId: message.id, attemptId: (await attempts(message.id))[0]!.id });
    expect(Date.parse(check!.dueAt) - before).toBeGreaterThanOrEqual(60_000 - 50);
    const early = await fallback.check(check!).catch((error: unknown) => error);
    expect(early).toBeInstanceOf(JobDeferred);
    expect((early as JobDeferred).delayMs).toBeGreaterThan(55_000);
    expect(await row(message.id)).toMatchObject({ status: 'sent', identity_id: message.whatsapp });
  });

  it('two checks at the deadline at once: one hop, one new send job; the next send goes on SMS and starts no deadline', async () => {
    const message = await replyWithFallback();
    await delivery.send(workspaceId, message.id, job());
    const [check] = await jobsOf(message.id, 'message.fallback_check');
    await Promise.all([fallback.check(due(check!)), fallback.check(due(check!))]);
    await fallback.check(due(check!));

    expect(await row(message.id)).toMatchObject({ status: 'queued', identity_id: message.sms, external_id: null });
    expect(await jobsOf(message.id, 'message.send')).toHaveLength(2);
    expect((await attempts(message.id)).map((a) => [a.channel, a.status, a.fallback_reason])).toEqual([['whatsapp', 'sent', 'no_receipt']]);

    const calls = adapter.calls.length;
    await delivery.send(workspaceId, message.id, job());
    expect(adapter.calls).toHaveLength(calls + 1);
    expect(adapter.calls.at(-1)).toMatchObject({ messageId: message.id, to: message.phone });
    expect(await row(message.id)).toMatchObject({ status: 'sent', identity_id: message.sms });
    // The last identity of the route: nothing to go on to, no deadline.
    expect(await jobsOf(message.id, 'message.fallback_check')).toHaveLength(1);
  });

  it('a delivered receipt before the check: the check does nothing', async () => {
    const message = await replyWithFallback();
    await delivery.send(workspaceId, message.id, job());
    const [check] = await jobsOf(message.id, 'message.fallback_check');
    await owner.query(`UPDATE messages SET status = 'delivered' WHERE id = $1`, [message.id]);
    await owner.query(`UPDATE delivery_attempts SET receipt_status = 'delivered' WHERE id = $1`, [check!.attemptId]);
    await fallback.check(due(check!));
    expect(await row(message.id)).toMatchObject({ status: 'delivered', identity_id: message.whatsapp });
    expect(await jobsOf(message.id, 'message.send')).toHaveLength(1);
  });

  it('a check lost by Redis is found by the relay while its hop is current and undelivered, and not after', async () => {
    const message = await replyWithFallback();
    await delivery.send(workspaceId, message.id, job());
    const stalled = async (): Promise<string[]> =>
      (await owner.query(`SELECT payload->>'messageId' AS id FROM ferry_outbox_stalled(interval '0 seconds', 1000) WHERE job_name = 'message.fallback_check'`)).rows.map(
        (r) => r.id,
      );
    // Published (the outbox marks it after commit), its deadline a minute ahead: not stalled yet.
    await owner.query(`UPDATE outbox SET published_at = now() WHERE job_name = 'message.fallback_check' AND payload->>'messageId' = $1`, [message.id]);
    expect(await stalled()).not.toContain(message.id);
    await owner.query(
      `UPDATE outbox SET payload = jsonb_set(payload, '{dueAt}', to_jsonb((now() - interval '1 second')::text)) WHERE job_name = 'message.fallback_check' AND payload->>'messageId' = $1`,
      [message.id],
    );
    expect(await stalled()).toContain(message.id);
    await owner.query(`UPDATE delivery_attempts SET receipt_status = 'delivered' WHERE message_id = $1`, [message.id]);
    expect(await stalled()).not.toContain(message.id);
  });

  it('a delivered receipt stored but still in the status backlog: the check does not hop', async () => {
    const message = await replyWithFallback();
    await delivery.send(workspaceId, message.id, job());
    const [check] = await jobsOf(message.id, 'message.fallback_check');
    const { external_id: providerMessageId } = await row(message.id);
    await owner.query(
      `INSERT INTO inbound_events (id, workspace_id, inbox_id, provider_event_id, kind, event) VALUES ($1, $2, $3, $4, 'status', $5)`,
      [uuidv7(), workspaceId, whatsappInbox, `st-${uuidv7()}`, { kind: 'status', providerMessageId, status: 'delivered' }],
    );
    await fallback.check(due(check!));
    expect(await row(message.id)).toMatchObject({ status: 'sent', identity_id: message.whatsapp });
    expect(await jobsOf(message.id, 'message.send')).toHaveLength(1);
  });

  /** The messages whose fallback check ferry_outbox_stalled would revive now (deadline passed, any age). */
  async function stalledChecks(maxRows = 1000): Promise<string[]> {
    const { rows } = await owner.query(
      `SELECT payload->>'messageId' AS id FROM ferry_outbox_stalled(interval '0 seconds', $1) WHERE job_name = 'message.fallback_check'`,
      [maxRows],
    );
    return rows.map((r) => r.id);
  }

  /** The message's check as lost after publishing: published, its deadline passed, gone from BullMQ. */
  async function lose(messageId: string, createdAt?: string): Promise<string> {
    const { rows } = await owner.query(
      `UPDATE outbox SET published_at = now(), created_at = coalesce($2::timestamptz, created_at),
              payload = jsonb_set(payload, '{dueAt}', to_jsonb((now() - interval '1 second')::text))
       WHERE job_name = 'message.fallback_check' AND payload->>'messageId' = $1 RETURNING id`,
      [messageId, createdAt ?? null],
    );
    const id: string = rows[0].id;
    await (await app.get(Queues).get('outbound').getJob(id))?.remove();
    return id;
  }

  it('a check that found nowhere to go at its deadline: recorded on its attempt, never revived, and a second run does not hop', async () => {
    const message = await replyWithFallback();
    await delivery.send(workspaceId, message.id, job());
    await owner.query(`UPDATE contact_identities SET unsubscribed_at = now() WHERE id = $1`, [message.sms]);
    const [check] = await jobsOf(message.id, 'message.fallback_check');
    await lose(message.id);
    expect(await stalledChecks()).toContain(message.id);

    await fallback.check(due(check!));

    expect(await row(message.id)).toMatchObject({ status: 'sent', identity_id: message.whatsapp });
    const [attempt] = await attempts(message.id);
    expect(attempt).toMatchObject({ status: 'sent', fallback_reason: null, fallback_checked_at: expect.any(Date) });
    expect(await stalledChecks()).not.toContain(message.id);

    // Decided once: a run of the same check (a duplicate, a retry) leaves it even with SMS back.
    await owner.query(`UPDATE contact_identities SET unsubscribed_at = NULL WHERE id = $1`, [message.sms]);
    await fallback.check(due(check!));
    expect(await row(message.id)).toMatchObject({ status: 'sent', identity_id: message.whatsapp });
    expect(await jobsOf(message.id, 'message.send')).toHaveLength(1);
    expect((await attempts(message.id))[0]!.fallback_checked_at).toEqual(attempt!.fallback_checked_at);
  });

  it('a check that hopped, or that found a delivered receipt in the backlog, is recorded on its attempt in the same transaction', async () => {
    const hopped = await replyWithFallback();
    await delivery.send(workspaceId, hopped.id, job());
    await fallback.check(due((await jobsOf(hopped.id, 'message.fallback_check'))[0]!));
    expect(await row(hopped.id)).toMatchObject({ status: 'queued', identity_id: hopped.sms });
    expect((await attempts(hopped.id))[0]).toMatchObject({ fallback_reason: 'no_receipt', fallback_checked_at: expect.any(Date) });

    const backlog = await replyWithFallback();
    await delivery.send(workspaceId, backlog.id, job());
    const { external_id: providerMessageId } = await row(backlog.id);
    await owner.query(
      `INSERT INTO inbound_events (id, workspace_id, inbox_id, provider_event_id, kind, event) VALUES ($1, $2, $3, $4, 'status', $5)`,
      [uuidv7(), workspaceId, whatsappInbox, `st-${uuidv7()}`, { kind: 'status', providerMessageId, status: 'delivered' }],
    );
    await lose(backlog.id);
    await fallback.check(due((await jobsOf(backlog.id, 'message.fallback_check'))[0]!));
    expect(await row(backlog.id)).toMatchObject({ status: 'sent', identity_id: backlog.whatsapp });
    expect((await attempts(backlog.id))[0]).toMatchObject({ fallback_reason: null, fallback_checked_at: expect.any(Date) });
    expect(await stalledChecks()).not.toContain(backlog.id);
  });

  it('a check that has not run, its job lost after publishing: revived by the relay with its id, then it hops', async () => {
    const message = await replyWithFallback();
    await delivery.send(workspaceId, message.id, job());
    const [check] = await jobsOf(message.id, 'message.fallback_check');
    const id = await lose(message.id);
    expect(await app.get(Queues).get('outbound').getJob(id)).toBeUndefined();

    expect(await stalledChecks()).toContain(message.id);
    expect(await app.get(Outbox).recoverStalled(0)).toBeGreaterThanOrEqual(1);
    expect((await app.get(Queues).get('outbound').getJob(id))?.data).toMatchObject({ messageId: message.id, attemptId: check!.attemptId });

    await fallback.check(due(check!));
    expect(await row(message.id)).toMatchObject({ status: 'queued', identity_id: message.sms });
    expect(await stalledChecks()).not.toContain(message.id);
  });

  it('more checks that stayed than the recovery takes at once, all older than a check truly lost: the lost one is revived', async () => {
    const first = await replyWithFallback();
    const spent = [first.id];
    for (let i = 1; i <= 100; i++) {
      const { id } = await app.get(MessagesService).post(workspaceId, first.conversationId, null, {
        type: 'text',
        body: `Gate change ${i}`,
        via: { identityId: first.whatsapp },
        fallback: [first.sms],
      });
      spent.push(id);
    }
    for (const id of spent) await delivery.send(workspaceId, id, job());
    // Nowhere to go at the deadline: each check leaves its message sent on WhatsApp.
    await owner.query(`UPDATE contact_identities SET unsubscribed_at = now() WHERE id = $1`, [first.sms]);
    for (const [i, id] of spent.entries()) {
      await lose(id, new Date(Date.UTC(2000, 0, 1, 0, 0, i)).toISOString());
      await fallback.check(due((await jobsOf(id, 'message.fallback_check'))[0]!));
    }
    expect(await owner.query(`SELECT count(*)::int AS n FROM messages WHERE id = ANY($1) AND status = 'sent'`, [spent])).toMatchObject({ rows: [{ n: 101 }] });

    const lost = await replyWithFallback();
    await delivery.send(workspaceId, lost.id, job());
    await lose(lost.id, new Date(Date.UTC(2000, 0, 2)).toISOString());

    const revived = await stalledChecks(100);
    expect(revived).toContain(lost.id);
    expect(revived.filter((id) => spent.includes(id))).toEqual([]);
  });

  it("an identity out of its window at send time: the message goes on without a call to that identity's provider", async () => {
    const message = await replyWithFallback();
    await owner.query(`UPDATE contact_identities SET last_inbound_at = now() - interval '25 hours' WHERE id = $1`, [message.whatsapp]);
    const calls = adapter.calls.length;
    await delivery.send(workspaceId, message.id, job());
    expect(adapter.calls).toHaveLength(calls);
    expect(await row(message.id)).toMatchObject({ status: 'queued', identity_id: message.sms });
    expect((await attempts(message.id)).map((a) => [a.channel, a.status, a.error_code, a.fallback_reason])).toEqual([
      ['whatsapp', 'failed', 'reachability.window_closed', 'unreachable'],
    ]);
    await delivery.send(workspaceId, message.id, job());
    expect(adapter.calls.at(-1)).toMatchObject({ messageId: message.id, to: message.phone });
    expect(await row(message.id)).toMatchObject({ status: 'sent', identity_id: message.sms });
  });
});
