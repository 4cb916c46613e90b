import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamicModule, type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import type { Redis } from 'ioredis';
import { ConfigModule, type FerryConfig } from '#config';
import { type Channel, uuidv7 } from '#domain';
import { DatabaseModule } from '#database';
import { type ChannelAdapter, exampleChannelConfig, type OutboundMessage, type SendOutcome } from '#channels';
import { type JobContext, type JobPayloads, Outbox, QueueModule, Queues, REDIS, type SendMember } from '#queue';
import { seedTenant, testConfig } from '#testing';
import { InboundService } from '../conversations/inbound.service.js';
import { InboxesService } from '../inboxes/inboxes.service.js';
import { MessagesService } from '../messages/messages.service.js';
import { DeliveryModule } from './delivery.module.js';
import { DeliveryService } from './delivery.service.js';
import { SendOrder } from './send-order.js';

/** Plays a provider: answers each message with its scripted outcomes (ok by default), records every call in order. */
class ScriptedAdapter implements ChannelAdapter<unknown> {
  readonly channel: Channel = 'whatsapp';
  readonly calls: string[] = [];
  private readonly scripts = new Map<string, SendOutcome[]>();

  answer(messageId: string, ...outcomes: SendOutcome[]): void {
    this.scripts.set(messageId, outcomes);
  }
  verify(): never {
    throw new Error('not used');
  }
  parse(): never {
    throw new Error('not used');
  }
  async send(message: OutboundMessage): Promise<SendOutcome> {
    this.calls.push(message.messageId);
    // A provider call takes a moment: the members' calls overlap, as they do for real.
    await new Promise((resolve) => setTimeout(resolve, 5));
    return this.scripts.get(message.messageId)?.shift() ?? { ok: true, providerMessageId: `prov-${message.messageId}`, responseCode: '200' };
  }
}

const transient: SendOutcome = { ok: false, permanent: false, code: 'provider.http_503', reason: 'Service Unavailable', responseCode: '503' };
const permanent: SendOutcome = { ok: false, permanent: true, code: 'whatsapp.131026', reason: 'Message undeliverable', responseCode: '400' };

function testModule(config: FerryConfig, adapter: ScriptedAdapter): DynamicModule {
  @Module({})
  class SendBatchTestModule {}
  return {
    module: SendBatchTestModule,
    imports: [ConfigModule.forRoot(config), DatabaseModule, QueueModule, DeliveryModule.forRoot(() => adapter as ChannelAdapter<never>)],
  };
}

describe('a coalesced message.send job (DeliveryService.deliver)', () => {
  let config: FerryConfig;
  let app: INestApplicationContext;
  let owner: pg.Client;
  let delivery: DeliveryService;
  let queues: Queues;
  const provider = new ScriptedAdapter();
  let workspaceId: string;

  async function inbox(channel: Channel, extra: Record<string, unknown> = {}): Promise<string> {
    return (await app.get(InboxesService).create(workspaceId, { name: `${channel} inbox`, channel, config: { ...exampleChannelConfig(channel), ...extra } })).id;
  }

  async function conversation(inboxId: string): Promise<string> {
    const result = await app.get(InboundService).receive(workspaceId, {
      inboxId,
      contact: { externalId: `cust-${uuidv7()}` },
      message: { externalId: `in-${uuidv7()}`, body: 'Hello?' },
    });
    return result.conversation!.id;
  }

  /**
   * A reply, as a member of a batch: its message and outbox row id. The job the API's commit
   * published for it alone is taken off the queue (as if its row had gone out in this batch).
   */
  async function reply(conversationId: string, body: string): Promise<SendMember> {
    const messageId = (await app.get(MessagesService).post(workspaceId, conversationId, null, { type: 'text', body })).id;
    await app.get(Outbox).flush();
    const [row] = (await owner.query(`SELECT id FROM outbox WHERE job_name = 'message.send' AND payload->>'messageId' = $1`, [messageId])).rows;
    await queues.get('outbound').remove(row.id);
    return { messageId, jobId: row.id };
  }

  async function messageRow(id: string): Promise<{ status: string; error_code: string | null; error_reason: string | null }> {
    return (await owner.query('SELECT status, error_code, error_reason FROM messages WHERE id = $1', [id])).rows[0];
  }

  /** Runs a job as the worker would (Consumers.process): its payload, its id, its tries. */
  async function runJob(jobId: string): Promise<void> {
    const job = (await queues.get('outbound').getJob(jobId))!;
    const context: JobContext = { jobId: job.id!, attempt: job.attemptsMade + 1, maxAttempts: job.opts.attempts ?? 1 };
    await delivery.deliver(job.data as JobPayloads['message.send'], context);
  }

  const batch = (members: SendMember[], attempt = 1): [JobPayloads['message.send'], JobContext] => [
    { workspaceId, messageId: members[0]!.messageId, members },
    { jobId: uuidv7(), attempt, maxAttempts: 8 },
  ];

  beforeAll(async () => {
    const base = await testConfig();
    config = await testConfig({ REDIS_PREFIX: `${base.redis.keyPrefix}-send-batch`, WHATSAPP_PAIR_INTERVAL_MS: '0' });
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
    app = await NestFactory.createApplicationContext(testModule(config, provider), { logger: false });
    delivery = app.get(DeliveryService);
    queues = app.get(Queues);
    workspaceId = (await seedTenant(config, 'Send batch workspace')).workspaceId;
  });

  afterAll(async () => {
    await queues?.get('outbound').obliterate({ force: true });
    const redis = app?.get<Redis>(REDIS);
    const keys = redis ? await redis.keys(`${config.redis.keyPrefix}:*`) : [];
    if (keys.length > 0) await redis!.del(...keys);
    await app?.close();
    await owner?.end();
  });

  it('sends one, fails one alone with its reason, retries one as its own job, and keeps a conversation in order', async () => {
    const inboxId = await inbox('whatsapp', { sendRatePerSecond: 1000 });
    const sent = await reply(await conversation(inboxId), 'sent');
    const broken = await reply(await conversation(inboxId), 'broken');
    const flaky = await reply(await conversation(inboxId), 'flaky');
    const thread = await conversation(inboxId);
    const first = await reply(thread, 'first');
    const second = await reply(thread, 'second');
    provider.answer(broken.messageId, permanent);
    provider.answer(flaky.messageId, transient);
    const calls = provider.calls.length;

    // The later message of the thread first: a batch's order is its commits', not the conversation's.
    await delivery.deliver(...batch([second, sent, broken, flaky, first]));

    expect((await messageRow(sent.messageId)).status).toBe('sent');
    expect(await messageRow(broken.messageId)).toMatchObject({ status: 'failed', error_code: 'whatsapp.131026', error_reason: 'Message undeliverable' });
    expect((await messageRow(second.messageId)).status, 'sent in the same run, once the first had left').toBe('sent');
    const made = provider.calls.slice(calls);
    expect(made.indexOf(first.messageId)).toBeLessThan(made.indexOf(second.messageId));
    expect(made.filter((id) => id === second.messageId)).toHaveLength(1);

    // The transient failure goes on as its own job: its row id, delayed by the backoff, the tries left.
    expect((await messageRow(flaky.messageId)).status).toBe('queued');
    const outbound = queues.get('outbound');
    const retry = (await outbound.getJob(flaky.jobId))!;
    expect(retry.data).toEqual({ workspaceId, messageId: flaky.messageId });
    expect(await retry.getState()).toBe('delayed');
    expect(retry.opts.delay).toBeGreaterThanOrEqual(500);
    expect(retry.opts.attempts).toBe(7);
    for (const done of [sent, broken, first, second]) expect(await outbound.getJob(done.jobId), 'a member done has no job of its own').toBeUndefined();

    await runJob(flaky.jobId);
    expect((await messageRow(flaky.messageId)).status).toBe('sent');
    const ledger = (await owner.query('SELECT status FROM delivery_attempts WHERE message_id = $1 ORDER BY created_at, id', [flaky.messageId])).rows;
    expect(ledger.map((row: { status: string }) => row.status)).toEqual(['retrying', 'sent']);

    // The batch run again (its worker died before BullMQ heard it finish): nothing is sent again.
    const before = provider.calls.length;
    await delivery.deliver(...batch([second, sent, broken, flaky, first], 2));
    expect(provider.calls.length).toBe(before);
  });

  it('a member deferred behind another that went on alone is promoted by that one\'s release, not left to its wait', async () => {
    const inboxId = await inbox('sms', { sendRatePerSecond: 1 });
    // Takes the inbox's one slot of this second.
    const other = await reply(await conversation(inboxId), 'other');
    await delivery.send(workspaceId, other.messageId, { jobId: other.jobId, attempt: 1, maxAttempts: 8 });
    const thread = await conversation(inboxId);
    const first = await reply(thread, 'first');
    const second = await reply(thread, 'second');

    await delivery.deliver(...batch([first, second]));

    const outbound = queues.get('outbound');
    const [firstJob, secondJob] = [(await outbound.getJob(first.jobId))!, (await outbound.getJob(second.jobId))!];
    expect(await firstJob.getState(), 'rate limited').toBe('delayed');
    expect(await secondJob.getState(), 'waits for the first').toBe('delayed');
    expect(secondJob.opts.delay).toBeGreaterThanOrEqual(2000);
    expect(secondJob.opts.attempts, 'a deferral spends no try').toBe(8);

    await new Promise((resolve) => setTimeout(resolve, firstJob.opts.delay ?? 0));
    await runJob(first.jobId);
    expect((await messageRow(first.messageId)).status).toBe('sent');
    expect(await secondJob.getState(), 'promoted when the first left').toBe('waiting');
  });

  it('SendOrder.park: a job noted after the release it waited for is promoted at once; one still waiting stays delayed', async () => {
    const order = app.get(SendOrder);
    const outbound = queues.get('outbound');
    const [left, queued] = [uuidv7(), uuidv7()];
    await order.release(workspaceId, left);
    const [late, waiting] = [uuidv7(), uuidv7()];
    await queues.addMany('message.send', [
      { payload: { workspaceId, messageId: uuidv7() }, jobId: late, delayMs: 60_000 },
      { payload: { workspaceId, messageId: uuidv7() }, jobId: waiting, delayMs: 60_000 },
    ]);
    await order.park(workspaceId, left, late);
    await order.park(workspaceId, queued, waiting);
    expect(await (await outbound.getJob(late))!.getState()).toBe('waiting');
    expect(await (await outbound.getJob(waiting))!.getState()).toBe('delayed');
    await order.release(workspaceId, queued);
    expect(await (await outbound.getJob(waiting))!.getState()).toBe('waiting');
  });
});
