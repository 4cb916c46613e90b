import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { type DynamicModule, type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { ConfigModule, type FerryConfig } from '#config';
import { type Channel, uuidv7 } from '#domain';
import { DatabaseModule } from '#database';
import { type ChannelAdapter, exampleChannelConfig, type OutboundMessage, type SendOutcome } from '#channels';
import { type JobContext, JobDeferred, JobRetryable, QueueModule, Queues, REDIS } from '#queue';
import { seedTenant, testConfig } from '#testing';
import { InboundService } from '../conversations/inbound.service.js';
import { InboxesService } from '../inboxes/inboxes.service.js';
import { MessagesService } from '../messages/messages.service.js';
import type { AdapterLookup } from './channel-adapters.js';
import { DeliveryModule } from './delivery.module.js';
import { DeliveryService } from './delivery.service.js';
import type { OutboundMessagesRepository } from './outbound-messages.repository.js';
import { SentSettler } from './sent-settler.js';

/** Plays a provider: answers each send with the next scripted outcome (ok by default), records every call. */
class FakeAdapter implements ChannelAdapter<unknown> {
  readonly channel: Channel = 'whatsapp';
  readonly calls: Array<{ message: OutboundMessage; config: unknown }> = [];
  private readonly script: SendOutcome[] = [];

  answer(...outcomes: SendOutcome[]): void {
    this.script.push(...outcomes);
  }
  verify(): never {
    throw new Error('not used');
  }
  parse(): never {
    throw new Error('not used');
  }
  async send(message: OutboundMessage, config: unknown): Promise<SendOutcome> {
    this.calls.push({ message, config });
    return this.script.shift() ?? { ok: true, providerMessageId: `prov-${this.calls.length}-${message.messageId}`, providerRequestId: 'req-1', responseCode: '200' };
  }
  sentIds(): string[] {
    return this.calls.map((call) => call.message.messageId);
  }
}

const transient: SendOutcome = { ok: false, permanent: false, code: 'provider.http_503', reason: 'Service Unavailable', responseCode: '503' };
const permanent: SendOutcome = {
  ok: false,
  permanent: true,
  code: 'whatsapp.131047',
  reason: 'More than 24 hours have passed since the recipient last replied',
  responseCode: '400',
};

function testModule(config: FerryConfig, adapters: AdapterLookup): DynamicModule {
  @Module({})
  class DeliveryTestModule {}
  return { module: DeliveryTestModule, imports: [ConfigModule.forRoot(config), DatabaseModule, QueueModule, DeliveryModule.forRoot(adapters)] };
}

describe('DeliveryService (message.send)', () => {
  let config: FerryConfig;
  let app: INestApplicationContext;
  let owner: pg.Client;
  let delivery: DeliveryService;
  let messages: MessagesService;
  const fake = new FakeAdapter();
  let workspaceId: string;
  let jobSeq = 0;

  const job = (overrides: Partial<JobContext> = {}): JobContext => ({ jobId: `job-${++jobSeq}`, attempt: 1, maxAttempts: 8, ...overrides });

  async function inbox(channel: Channel, extra: Record<string, unknown> = {}): Promise<string> {
    const created = await app.get(InboxesService).create(workspaceId, {
      name: `${channel} inbox`,
      channel,
      config: { ...exampleChannelConfig(channel), ...extra },
    });
    return created.id;
  }

  /** A customer who wrote in on `inboxId`: their conversation, ready for replies. */
  async function conversation(inboxId: string): Promise<string> {
    const result = await app.get(InboundService).receive(workspaceId, {
      inboxId,
      contact: { externalId: `cust-${uuidv7()}` },
      message: { externalId: `in-${uuidv7()}`, body: 'Hello?' },
    });
    return result.conversation!.id;
  }

  async function reply(conversationId: string, body = 'Your booking is confirmed.'): Promise<string> {
    return (await messages.post(workspaceId, conversationId, null, { type: 'text', body })).id;
  }

  async function messageRow(id: string): Promise<{ status: string; external_id: string | null; error_code: string | null; error_reason: string | null }> {
    return (await owner.query('SELECT status, external_id, error_code, error_reason FROM messages WHERE id = $1', [id])).rows[0];
  }

  async function attempts(id: string): Promise<Array<Record<string, unknown>>> {
    return (await owner.query('SELECT * FROM delivery_attempts WHERE message_id = $1 ORDER BY created_at, id', [id])).rows;
  }

  beforeAll(async () => {
    const base = await testConfig();
    // No WhatsApp pair rate here (its spacing is tested end to end in test/fallback.e2e-spec.ts).
    config = await testConfig({ REDIS_PREFIX: `${base.redis.keyPrefix}-delivery`, PUBLIC_URL: 'https://ferry.example', WHATSAPP_PAIR_INTERVAL_MS: '0' });
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
    app = await NestFactory.createApplicationContext(testModule(config, () => fake as ChannelAdapter<never>), { logger: false });
    delivery = app.get(DeliveryService);
    messages = app.get(MessagesService);
    workspaceId = (await seedTenant(config, 'Delivery workspace')).workspaceId;
  });

  afterAll(async () => {
    await app?.get(Queues).get('outbound').obliterate({ force: true });
    const redis = app?.get<Redis>(REDIS);
    const keys = redis ? await redis.keys(`${config.redis.keyPrefix}:*`) : [];
    if (keys.length > 0) await redis!.del(...keys);
    await app?.close();
    await owner?.end();
  });

  it('sends a queued reply: message sent with the provider id, one attempt with the provider answer', async () => {
    const inboxId = await inbox('whatsapp', { sendRatePerSecond: 1000 });
    const conversationId = await conversation(inboxId);
    const id = await reply(conversationId);

    await delivery.send(workspaceId, id, job());

    const call = fake.calls.at(-1)!;
    expect(call.message).toMatchObject({ messageId: id, conversationId, body: 'Your booking is confirmed.' });
    expect(call.message.statusCallbackUrl).toBe(`https://ferry.example/hooks/whatsapp/${inboxId}?messageId=${id}`);
    expect(call.config).toMatchObject({ accessToken: exampleChannelConfig('whatsapp').accessToken }); // decrypted
    expect(await messageRow(id)).toMatchObject({ status: 'sent', external_id: `prov-${fake.calls.length}-${id}`, error_code: null });
    const [attempt, ...more] = await attempts(id);
    expect(more).toHaveLength(0);
    expect(attempt).toMatchObject({
      status: 'sent',
      channel: 'whatsapp',
      inbox_id: inboxId,
      provider_request_id: 'req-1',
      provider_message_id: `prov-${fake.calls.length}-${id}`,
      response_code: '200',
      error_code: null,
    });
    expect(attempt!['identity_id']).toEqual(expect.any(String));
    expect(attempt!['latency_ms']).toEqual(expect.any(Number));

    // GET /v1/messages/{id} reads the same ledger.
    const detail = await messages.get(workspaceId, id);
    expect(detail.message.status).toBe('sent');
    expect(detail.attempts.map((a) => [a.status, a.providerRequestId, a.responseCode])).toEqual([['sent', 'req-1', '200']]);
  });

  it('retries a transient failure: the message stays queued, then the next try sends it; two attempts', async () => {
    const conversationId = await conversation(await inbox('whatsapp', { sendRatePerSecond: 1000 }));
    const id = await reply(conversationId);
    fake.answer({ ...transient, retryAfterMs: 3000 });
    const first = job();

    const error = await delivery.send(workspaceId, id, first).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobRetryable);
    expect((error as JobRetryable).retryAfterMs).toBe(3000);
    expect((await messageRow(id)).status).toBe('queued');

    await delivery.send(workspaceId, id, { ...first, attempt: 2 });

    expect((await messageRow(id)).status).toBe('sent');
    expect((await attempts(id)).map((a) => [a['status'], a['error_code'], a['response_code']])).toEqual([
      ['retrying', 'provider.http_503', '503'],
      ['sent', null, '200'],
    ]);
  });

  it('fails a permanent error at once with the provider code and reason, and asks for no retry', async () => {
    const conversationId = await conversation(await inbox('whatsapp', { sendRatePerSecond: 1000 }));
    const id = await reply(conversationId);
    fake.answer(permanent);

    await expect(delivery.send(workspaceId, id, job())).resolves.toBeUndefined();

    expect(await messageRow(id)).toMatchObject({ status: 'failed', error_code: 'whatsapp.131047', error_reason: permanent.reason });
    expect((await attempts(id)).map((a) => [a['status'], a['error_code'], a['error']])).toEqual([['failed', 'whatsapp.131047', permanent.reason]]);
    const calls = fake.calls.length;
    await delivery.send(workspaceId, id, job({ attempt: 2 }));
    expect(fake.calls.length, 'a failed message is never sent again').toBe(calls);
  });

  it('fails the message with the last reason when the last try fails transiently', async () => {
    const id = await reply(await conversation(await inbox('whatsapp', { sendRatePerSecond: 1000 })));
    fake.answer(transient);
    await delivery.send(workspaceId, id, job({ attempt: 8, maxAttempts: 8 }));
    expect(await messageRow(id)).toMatchObject({ status: 'failed', error_code: 'provider.http_503', error_reason: 'Service Unavailable' });
  });

  it('skips notes, and messages already sent or failed, without calling the provider', async () => {
    const conversationId = await conversation(await inbox('whatsapp', { sendRatePerSecond: 1000 }));
    const note = (await messages.post(workspaceId, conversationId, null, { type: 'note', body: 'VIP customer' })).id;
    const sent = await reply(conversationId, 'sent already');
    const failed = await reply(conversationId, 'failed already');
    await owner.query(`UPDATE messages SET status = 'sent' WHERE id = $1`, [sent]);
    await owner.query(`UPDATE messages SET status = 'failed' WHERE id = $1`, [failed]);
    const calls = fake.calls.length;

    for (const id of [note, sent, failed]) await delivery.send(workspaceId, id, job());

    expect(fake.calls.length).toBe(calls);
    expect(await attempts(note)).toEqual([]);
    expect((await messageRow(note)).status).toBe('received');
    expect((await messageRow(sent)).status).toBe('sent');
  });

  it('keeps the order of a conversation: the second reply waits while the first is queued', async () => {
    const conversationId = await conversation(await inbox('whatsapp', { sendRatePerSecond: 1000 }));
    const first = await reply(conversationId, 'first');
    const second = await reply(conversationId, 'second');
    const calls = fake.calls.length;

    const error = await delivery.send(workspaceId, second, job()).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(JobDeferred);
    expect((error as JobDeferred).delayMs).toBeGreaterThan(0);
    expect(fake.calls.length, 'nothing sent out of order').toBe(calls);
    expect(await attempts(second)).toEqual([]);

    await delivery.send(workspaceId, first, job());
    await delivery.send(workspaceId, second, job());

    expect(fake.sentIds().slice(calls)).toEqual([first, second]);
    expect((await messageRow(second)).status).toBe('sent');
  });

  it('settles sends that finish together in one transaction: each sent once, one attempt each, each counted once', async () => {
    const inboxId = await inbox('whatsapp', { sendRatePerSecond: 1000 });
    const ids = await Promise.all(Array.from({ length: 12 }, async () => reply(await conversation(inboxId))));
    // The settler's own repository (the messaging module has another instance).
    const repository = (app.get(SentSettler) as unknown as { messages: OutboundMessagesRepository }).messages;
    const spy = vi.spyOn(repository, 'settleSentMany');
    let batches: number[];
    try {
      await Promise.all(ids.map((id) => delivery.send(workspaceId, id, job())));
      batches = spy.mock.calls.map(([, writes]) => writes.length);
    } finally {
      spy.mockRestore();
    }
    expect(batches.reduce((a, b) => a + b, 0)).toBe(ids.length);
    expect(Math.max(...batches), 'some sends settled together').toBeGreaterThan(1);

    for (const id of ids) {
      const row = await messageRow(id);
      expect(row.status).toBe('sent');
      const calls = fake.calls.filter((call) => call.message.messageId === id);
      expect(calls).toHaveLength(1);
      const ledger = await attempts(id);
      expect(ledger.map((a) => [a['status'], a['provider_message_id']])).toEqual([['sent', row.external_id]]);
    }
    const usage = await owner.query(
      `SELECT payload->>'messageId' AS id FROM outbox WHERE job_name = 'billing.usage' AND payload->>'messageId' = ANY($1::text[])`,
      [ids],
    );
    expect(usage.rows.map((r: { id: string }) => r.id).sort()).toEqual([...ids].sort());
  });

  it('a run that waited for the lock while another run opened a try sends nothing and comes back later', async () => {
    const conversationId = await conversation(await inbox('whatsapp', { sendRatePerSecond: 1000 }));
    const id = await reply(conversationId);
    const calls = fake.calls.length;
    const other = new pg.Client({ connectionString: config.database.url });
    await other.connect();
    try {
      // Another run of the job: holds the message's lock and opens its try, then commits.
      await other.query('BEGIN');
      await other.query('SELECT id FROM messages WHERE id = $1 FOR UPDATE', [id]);
      const run = delivery.send(workspaceId, id, job()).catch((e: unknown) => e);
      await new Promise((resolve) => setTimeout(resolve, 200));
      const [row] = (await other.query('SELECT workspace_id, identity_id, inbox_id FROM messages WHERE id = $1', [id])).rows;
      await other.query(
        `INSERT INTO delivery_attempts (id, workspace_id, message_id, identity_id, inbox_id, channel, status) VALUES ($1, $2, $3, $4, $5, 'whatsapp', 'sending')`,
        [uuidv7(), row.workspace_id, id, row.identity_id, row.inbox_id],
      );
      await other.query('COMMIT');
      const error = await run;
      expect(error).toBeInstanceOf(JobDeferred);
      expect(fake.calls.length, 'not sent a second time').toBe(calls);
      expect((await attempts(id)).map((a) => a['status'])).toEqual(['sending']);
    } finally {
      await other.end();
    }
  });

  it('a failed earlier message does not hold the next one back', async () => {
    const conversationId = await conversation(await inbox('whatsapp', { sendRatePerSecond: 1000 }));
    const first = await reply(conversationId, 'first');
    const second = await reply(conversationId, 'second');
    fake.answer(permanent);
    await delivery.send(workspaceId, first, job());
    await delivery.send(workspaceId, second, job());
    expect((await messageRow(second)).status).toBe('sent');
  });

  it('delays a send over the inbox rate limit instead of failing it, and another inbox is not held up', async () => {
    const slow = await inbox('sms', { sendRatePerSecond: 1 });
    const other = await inbox('sms', { sendRatePerSecond: 1 });
    const a = await reply(await conversation(slow), 'a');
    const b = await reply(await conversation(slow), 'b');
    const c = await reply(await conversation(slow), 'c');
    const d = await reply(await conversation(other), 'd');

    await delivery.send(workspaceId, a, job());
    const bJob = job();
    const bWait = await delivery.send(workspaceId, b, bJob).catch((e: unknown) => e);
    expect(bWait).toBeInstanceOf(JobDeferred);
    expect((bWait as JobDeferred).delayMs).toBeGreaterThan(0);
    expect((bWait as JobDeferred).delayMs).toBeLessThanOrEqual(1000);
    expect((await messageRow(b)).status, 'delayed, not failed').toBe('queued');
    expect(await attempts(b)).toEqual([]);

    // b holds the next slot: asking again (before it is due) keeps it rather than taking another.
    const bAgain = await delivery.send(workspaceId, b, bJob).catch((e: unknown) => e);
    expect(bAgain).toBeInstanceOf(JobDeferred);
    const cWait = await delivery.send(workspaceId, c, job()).catch((e: unknown) => e);
    expect(cWait).toBeInstanceOf(JobDeferred);
    expect((cWait as JobDeferred).delayMs, 'c queues behind b').toBeGreaterThan((bAgain as JobDeferred).delayMs);

    await delivery.send(workspaceId, d, job());
    expect((await messageRow(d)).status, 'the other inbox sends at once').toBe('sent');
  });

  describe('a try left in doubt (the worker died between the provider call and its record)', () => {
    async function crashedSend(): Promise<{ id: string; attemptId: string }> {
      const conversationId = await conversation(await inbox('whatsapp', { sendRatePerSecond: 1000 }));
      const id = await reply(conversationId);
      const attemptId = uuidv7();
      // Exactly what claim() commits before calling the provider.
      await owner.query(
        `INSERT INTO delivery_attempts (id, workspace_id, message_id, identity_id, inbox_id, channel, status)
         SELECT $1, workspace_id, id, identity_id, inbox_id, 'whatsapp', 'sending' FROM messages WHERE id = $2`,
        [attemptId, id],
      );
      return { id, attemptId };
    }

    it('waits for the receipt instead of resending, and stops when the receipt marked it sent', async () => {
      const { id, attemptId } = await crashedSend();
      const calls = fake.calls.length;

      const wait = await delivery.send(workspaceId, id, job({ attempt: 1 })).catch((e: unknown) => e);
      expect(wait).toBeInstanceOf(JobDeferred);
      expect((wait as JobDeferred).delayMs).toBeGreaterThan(0);
      expect((wait as JobDeferred).delayMs).toBeLessThanOrEqual(config.delivery.inDoubtGraceMs);
      expect(fake.calls.length, 'not resent while in doubt').toBe(calls);

      // The provider's receipt arrives (status.apply matches it by our message id).
      await owner.query(`UPDATE messages SET status = 'sent', external_id = 'wamid.from-receipt' WHERE id = $1`, [id]);
      await delivery.send(workspaceId, id, job({ attempt: 1 }));

      expect(fake.calls.length, 'never sent twice').toBe(calls);
      expect(await messageRow(id)).toMatchObject({ status: 'sent', external_id: 'wamid.from-receipt' });
      expect((await attempts(id)).map((a) => [a['id'], a['status']]), 'the open try is closed as sent').toEqual([[attemptId, 'sent']]);
    });

    it('sends again once the grace period passed without a receipt, closing the old try as unconfirmed', async () => {
      const { id, attemptId } = await crashedSend();
      await owner.query(`UPDATE delivery_attempts SET created_at = now() - interval '1 hour' WHERE id = $1`, [attemptId]);
      const calls = fake.calls.length;

      await delivery.send(workspaceId, id, job());

      expect(fake.sentIds().slice(calls)).toEqual([id]);
      expect((await messageRow(id)).status).toBe('sent');
      expect((await attempts(id)).map((a) => [a['id'] === attemptId, a['status']])).toEqual([
        [true, 'unconfirmed'],
        [false, 'sent'],
      ]);
    });

    it('a receipt already stored but not yet applied (status queue backlog) settles it: sent, never resent, even past the grace', async () => {
      const { id, attemptId } = await crashedSend();
      await owner.query(`UPDATE delivery_attempts SET created_at = now() - interval '1 hour' WHERE id = $1`, [attemptId]);
      // What the hook stored for the provider's receipt; its status.apply job has not run yet.
      const event = { kind: 'status', providerEventId: 'wamid.backlog:delivered', providerMessageId: 'wamid.backlog', messageId: id, status: 'delivered', occurredAt: new Date().toISOString() };
      await owner.query(
        `INSERT INTO inbound_events (id, workspace_id, inbox_id, provider_event_id, kind, event)
         SELECT $1, workspace_id, inbox_id, $3, 'status', $4 FROM messages WHERE id = $2`,
        [uuidv7(), id, `${event.providerEventId}-${id}`, JSON.stringify(event)],
      );
      const calls = fake.calls.length;

      await delivery.send(workspaceId, id, job());

      expect(fake.calls.length, 'not sent again').toBe(calls);
      expect(await messageRow(id)).toMatchObject({ status: 'sent', external_id: 'wamid.backlog' });
      expect((await attempts(id)).map((a) => [a['id'], a['status'], a['provider_message_id']])).toEqual([[attemptId, 'sent', 'wamid.backlog']]);
    });

    it('a send that timed out is in doubt too: the retry waits for the receipt', async () => {
      const id = await reply(await conversation(await inbox('whatsapp', { sendRatePerSecond: 1000 })));
      fake.answer({ ok: false, permanent: false, code: 'provider.timeout', reason: 'No answer within 10000 ms' });
      await expect(delivery.send(workspaceId, id, job())).rejects.toBeInstanceOf(JobRetryable);
      const calls = fake.calls.length;
      await expect(delivery.send(workspaceId, id, job({ attempt: 2 }))).rejects.toBeInstanceOf(JobDeferred);
      expect(fake.calls.length).toBe(calls);
      expect((await attempts(id)).map((a) => a['status'])).toEqual(['in_doubt']);
    });
  });

  it('LINE: uses the reply token while it is fresh (once), and pushes when it is stale', async () => {
    const inboxId = await inbox('line', { sendRatePerSecond: 1000 });
    const conversationId = await conversation(inboxId);
    const identity = `SELECT ci.id FROM contact_identities ci JOIN conversations c ON c.contact_id = ci.contact_id WHERE c.id = $1`;
    await owner.query(`UPDATE contact_identities SET reply_token = 'rt-fresh', reply_token_expires_at = now() + interval '50 seconds' WHERE id = (${identity})`, [
      conversationId,
    ]);
    const first = await reply(conversationId, 'first');
    const second = await reply(conversationId, 'second');
    await delivery.send(workspaceId, first, job());
    await delivery.send(workspaceId, second, job());
    expect(fake.calls.at(-2)!.message).toMatchObject({ messageId: first, replyToken: 'rt-fresh' });
    expect(fake.calls.at(-1)!.message.replyToken, 'a reply token works once').toBeUndefined();

    await owner.query(`UPDATE contact_identities SET reply_token = 'rt-stale', reply_token_expires_at = now() + interval '1 second' WHERE id = (${identity})`, [
      conversationId,
    ]);
    const third = await reply(conversationId, 'third');
    await delivery.send(workspaceId, third, job());
    expect(fake.calls.at(-1)!.message.replyToken, 'too close to expiry: push instead').toBeUndefined();
  });

  it("email: threads the reply under the customer's mail and keeps its own Message-ID for the next reply", async () => {
    const conversationId = await conversation(await inbox('email', { sendRatePerSecond: 1000 }));
    await owner.query(
      `UPDATE messages SET email_message_id = '<in-1@customer.example>', email_subject = 'Booking for Friday' WHERE conversation_id = $1 AND direction = 'in'`,
      [conversationId],
    );
    const id = await reply(conversationId);
    await delivery.send(workspaceId, id, job());

    expect(fake.calls.at(-1)!.message.email).toEqual({
      subject: 'Re: Booking for Friday',
      inReplyTo: '<in-1@customer.example>',
      references: ['<in-1@customer.example>'],
    });
    const stored = (await owner.query('SELECT email_message_id, email_subject FROM messages WHERE id = $1', [id])).rows[0];
    expect(stored).toEqual({ email_message_id: `prov-${fake.calls.length}-${id}`, email_subject: 'Re: Booking for Friday' });

    const next = await reply(conversationId, 'One more thing');
    await delivery.send(workspaceId, next, job());
    expect(fake.calls.at(-1)!.message.email!.references).toEqual(['<in-1@customer.example>', `prov-${fake.calls.length - 1}-${id}`]);
  });

  it('fails a message whose inbox was deleted, with the reason, without calling a provider', async () => {
    const inboxId = await inbox('whatsapp', { sendRatePerSecond: 1000 });
    const id = await reply(await conversation(inboxId));
    await app.get(InboxesService).remove(workspaceId, inboxId);
    const calls = fake.calls.length;

    await delivery.send(workspaceId, id, job());

    expect(fake.calls.length).toBe(calls);
    expect(await messageRow(id)).toMatchObject({ status: 'failed', error_code: 'delivery.inbox_deleted' });
    expect((await attempts(id)).map((a) => [a['status'], a['error_code']])).toEqual([['failed', 'delivery.inbox_deleted']]);
  });

  it("refuses a job that names no message, and ignores another workspace's message", async () => {
    await expect(delivery.send(workspaceId, 'not-a-uuid', job())).rejects.toMatchObject({ code: 'delivery.invalid_job' });
    const id = await reply(await conversation(await inbox('whatsapp', { sendRatePerSecond: 1000 })));
    const stranger = (await seedTenant(config, 'Another workspace')).workspaceId;
    const calls = fake.calls.length;
    await delivery.send(stranger, id, job());
    expect(fake.calls.length).toBe(calls);
    expect((await messageRow(id)).status).toBe('queued');
  });
});
