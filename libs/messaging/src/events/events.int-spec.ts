import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DynamicModule, type INestApplicationContext, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import pg from 'pg';
import { ConfigModule, type FerryConfig } from '#config';
import { type ChannelAdapter, exampleChannelConfig, type SendOutcome } from '#channels';
import { type Channel, type EventEnvelope, EVENT_TYPES, type EventType, isUuid, uuidv7 } from '#domain';
import { DatabaseModule, TenantDb } from '#database';
import { type JobContext, QueueModule } from '#queue';
import { seedTenant, testConfig } from '#testing';
import { ContactsRepository } from '../contacts/contacts.repository.js';
import { ContactsService } from '../contacts/contacts.service.js';
import { ConversationsService } from '../conversations/conversations.service.js';
import { InboundService } from '../conversations/inbound.service.js';
import type { AdapterLookup } from '../delivery/channel-adapters.js';
import { DeliveryModule } from '../delivery/delivery.module.js';
import { DeliveryService } from '../delivery/delivery.service.js';
import { StatusService } from '../hooks/status.service.js';
import { InboxesService } from '../inboxes/inboxes.service.js';
import { MessagesService } from '../messages/messages.service.js';
import { EventWriter } from './event-writer.js';

/** A provider that takes every message, or refuses the next ones for good when told. */
class FakeAdapter implements ChannelAdapter<unknown> {
  readonly channel: Channel = 'whatsapp';
  refuse: SendOutcome | null = null;
  verify(): never {
    throw new Error('not used');
  }
  parse(): never {
    throw new Error('not used');
  }
  async send(message: { messageId: string }): Promise<SendOutcome> {
    return this.refuse ?? { ok: true, providerMessageId: `wamid.${message.messageId}`, responseCode: '200' };
  }
}

function testModule(config: FerryConfig, adapters: AdapterLookup): DynamicModule {
  @Module({})
  class EventsTestModule {}
  return { module: EventsTestModule, imports: [ConfigModule.forRoot(config), DatabaseModule, QueueModule, DeliveryModule.forRoot(adapters)] };
}

/**
 * Events are event.dispatch outbox jobs written in the transaction of their change: this holds each
 * change of the catalogue to the events it writes (read back from the outbox), and shows that an
 * event lives and dies with its transaction.
 */
describe('events: written in the transaction of the change they describe', () => {
  let config: FerryConfig;
  let app: INestApplicationContext;
  let owner: pg.Client;
  let workspaceId: string;
  const fake = new FakeAdapter();
  let jobs = 0;
  const job = (): JobContext => ({ jobId: `events-job-${++jobs}`, attempt: 1, maxAttempts: 8 });

  /** The events written since the last call, oldest first (outbox ids are UUIDv7). */
  let seen = '00000000-0000-0000-0000-000000000000';
  async function newEvents(): Promise<EventEnvelope[]> {
    const { rows } = await owner.query<{ id: string; payload: { workspaceId: string; event: EventEnvelope } }>(
      `SELECT id, payload FROM outbox WHERE workspace_id = $1 AND job_name = 'event.dispatch' AND id > $2 ORDER BY id`,
      [workspaceId, seen],
    );
    if (rows.length > 0) seen = rows[rows.length - 1]!.id;
    for (const row of rows) expect(row.payload.workspaceId).toBe(row.payload.event.workspaceId);
    return rows.map((row) => row.payload.event);
  }
  const typesOf = (events: EventEnvelope[]): EventType[] => events.map((event) => event.type);

  beforeAll(async () => {
    // Several replies to one WhatsApp user in a row: the pair rate is not what this suite is about.
    config = await testConfig({ WHATSAPP_PAIR_INTERVAL_MS: '0' });
    app = await NestFactory.createApplicationContext(testModule(config, (() => fake) as unknown as AdapterLookup), { logger: false });
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
    workspaceId = (await seedTenant(config, 'Events')).workspaceId;
    // Events are queued for fan-out only when an enabled endpoint wants them: this one wants them all.
    await addEndpoint(workspaceId, [...EVENT_TYPES]);
  });
  async function addEndpoint(workspace: string, events: string[], disabled = false): Promise<void> {
    await owner.query(
      `INSERT INTO webhook_endpoints (id, workspace_id, url, events, secret_sealed, disabled_at) VALUES ($1, $2, 'https://example.test/hook', $3, 'sealed', $4)`,
      [uuidv7(), workspace, events, disabled ? new Date() : null],
    );
  }
  afterAll(async () => {
    await owner?.end();
    await app?.close();
  });

  it('builds the envelope: a UUIDv7 id, the type, an ISO time, the workspace, the data', async () => {
    await newEvents();
    const contact = await app.get(ContactsService).create(workspaceId, { name: 'Envelope', email: `envelope-${uuidv7()}@example.test` });
    const [event] = await newEvents();
    expect(isUuid(event!.id)).toBe(true);
    expect(event).toMatchObject({ type: 'contact.created', workspaceId, data: { id: contact.contact.id, name: 'Envelope', identities: [] } });
    expect(new Date(event!.createdAt).toISOString()).toBe(event!.createdAt);
    expect(EVENT_TYPES).toContain(event!.type);
  });

  it('is written by its transaction, last, with the commit: seen by no one until then, committed with its change', async () => {
    const db = app.get(TenantDb);
    const writer = app.get(EventWriter);
    let contactId = '';
    const event = (): Promise<pg.QueryResult> => owner.query(`SELECT 1 FROM outbox WHERE payload->'event'->'data'->>'id' = $1`, [contactId]);
    await db.run(workspaceId, async (tx) => {
      const contact = await app.get(ContactsRepository).insert(tx, {
        id: uuidv7(), name: 'In tx', email: null, phone: null, language: null, timezone: null, country: null, customAttributes: {},
      });
      contactId = contact.id;
      await writer.contact(tx, 'contact.created', contact.id);
      // The row goes with the COMMIT (tx.atCommit): nothing in the transaction reads it.
      const inside: unknown[] = await tx.manager.query(`SELECT 1 FROM outbox WHERE payload->'event'->'data'->>'id' = $1`, [contact.id]);
      expect(inside).toHaveLength(0);
      expect((await event()).rowCount).toBe(0);
    });
    expect((await event()).rowCount).toBe(1);
    await newEvents();
  });

  it('is queued for fan-out only when an enabled endpoint of the workspace subscribes to its type', async () => {
    const other = (await seedTenant(config, 'Events without endpoints')).workspaceId;
    const contacts = app.get(ContactsService);
    const queued = async (contactId: string) =>
      (await owner.query(`SELECT payload->'event'->>'type' AS type FROM outbox WHERE payload->'event'->'data'->>'id' = $1 ORDER BY id`, [contactId])).rows;
    const first = await contacts.create(other, { name: 'Nobody listens' });
    expect(await queued(first.contact.id)).toEqual([]);
    await addEndpoint(other, ['contact.created'], true);
    await addEndpoint(other, ['contact.updated']);
    const second = await contacts.create(other, { name: 'Disabled one listens' });
    expect(await queued(second.contact.id)).toEqual([]);
    await contacts.update(other, second.contact.id, { name: 'Renamed' });
    expect(await queued(second.contact.id)).toEqual([{ type: 'contact.updated' }]);
    // Another workspace's endpoints never make this workspace's events queued, nor the reverse.
    expect((await owner.query(`SELECT 1 FROM outbox WHERE workspace_id = $1 AND job_name = 'event.dispatch'`, [other])).rowCount).toBe(1);
  });

  it('is gone with a change that rolls back', async () => {
    const db = app.get(TenantDb);
    const contactId = uuidv7();
    await expect(
      db.run(workspaceId, async (tx) => {
        await app.get(ContactsRepository).insert(tx, {
          id: contactId, name: 'Rolled back', email: null, phone: null, language: null, timezone: null, country: null, customAttributes: {},
        });
        await app.get(EventWriter).contact(tx, 'contact.created', contactId);
        throw new Error('the change fails after its event was written');
      }),
    ).rejects.toThrow('the change fails');
    expect((await owner.query(`SELECT 1 FROM contacts WHERE id = $1`, [contactId])).rowCount).toBe(0);
    expect((await owner.query(`SELECT 1 FROM outbox WHERE payload->'event'->'data'->>'id' = $1`, [contactId])).rowCount).toBe(0);
    expect(await newEvents()).toEqual([]);
  });

  it('a refused change writes no event', async () => {
    const email = `taken-${uuidv7()}@example.test`;
    await app.get(ContactsService).create(workspaceId, { email });
    const other = await app.get(ContactsService).create(workspaceId, { name: 'Other' });
    await newEvents();
    await expect(app.get(ContactsService).update(workspaceId, other.contact.id, { email })).rejects.toMatchObject({ code: 'contact.email_taken' });
    expect(await newEvents()).toEqual([]);
  });

  it('each change writes the events of the catalogue that describe it', async () => {
    const contacts = app.get(ContactsService);
    const conversations = app.get(ConversationsService);
    const inboxes = app.get(InboxesService);
    const inbound = app.get(InboundService);
    const messages = app.get(MessagesService);
    const delivery = app.get(DeliveryService);
    const suffix = uuidv7();
    const customer = `+1555${String(Date.now()).slice(-7)}`;
    const inbox = await inboxes.create(workspaceId, { name: `Events ${suffix}`, channel: 'whatsapp', config: exampleChannelConfig('whatsapp') });
    const known = await contacts.create(workspaceId, { name: 'Known', email: `known-${suffix}@example.test` });
    await newEvents();
    const receive = (externalId: string, contact: Record<string, string> = {}) =>
      inbound.receive(workspaceId, { inboxId: inbox.id, contact: { externalId, ...contact }, message: { externalId: `wamid.${uuidv7()}`, body: 'Hello' } });

    let conversationId = '';
    let replyId = '';
    const table: Array<[string, () => Promise<unknown>, EventType[]]> = [
      ['an inbox created (not in the catalogue)', () => inboxes.create(workspaceId, { name: `Quiet ${suffix}`, channel: 'sms', config: exampleChannelConfig('sms') }), []],
      ['an inbox renamed', () => inboxes.update(workspaceId, inbox.id, { name: `Events renamed ${suffix}` }), ['inbox.updated']],
      ['a contact created', () => contacts.create(workspaceId, { name: `Created ${suffix}` }), ['contact.created']],
      ['a contact updated', () => contacts.update(workspaceId, known.contact.id, { language: 'pt-BR' }), ['contact.updated']],
      ['an identity added to a contact', () => contacts.addIdentity(workspaceId, known.contact.id, { inboxId: inbox.id, externalId: `${customer}9` }), ['contact.updated']],
      [
        'a first message from a new customer',
        async () => (conversationId = (await receive(customer, { name: 'Ana' })).conversation!.id),
        ['contact.created', 'conversation.created', 'message.created'],
      ],
      ['a second message in the open conversation', () => receive(customer), ['message.created']],
      [
        'a known contact (same email) writing on one more channel',
        () => receive(`${customer}8`, { email: `known-${suffix}@example.test` }),
        ['contact.updated', 'conversation.created', 'message.created'],
      ],
      ['a conversation assigned nothing new (empty patch)', () => conversations.update(workspaceId, conversationId, {}), []],
      ['a conversation set pending', () => conversations.update(workspaceId, conversationId, { status: 'pending', priority: 'high' }), ['conversation.updated']],
      [
        'a conversation snoozed',
        () => conversations.update(workspaceId, conversationId, { status: 'snoozed', snoozedUntil: new Date(Date.now() + 3_600_000).toISOString() }),
        ['conversation.updated'],
      ],
      ['a message that wakes a snoozed conversation', () => receive(customer), ['conversation.updated', 'message.created']],
      ['a note', () => messages.post(workspaceId, conversationId, null, { type: 'note', body: 'VIP' }), ['message.created']],
      ['a reply', async () => (replyId = (await messages.post(workspaceId, conversationId, null, { type: 'text', body: 'Hi Ana' })).id), ['message.created']],
      ['the reply sent by delivery', () => delivery.send(workspaceId, replyId, job()), ['message.updated']],
      ['the same job run again (nothing changes)', () => delivery.send(workspaceId, replyId, job()), []],
      ['a conversation resolved', () => conversations.update(workspaceId, conversationId, { status: 'resolved' }), ['conversation.updated']],
      ['an inbox deleted', () => inboxes.remove(workspaceId, inbox.id), ['inbox.updated']],
    ];
    for (const [action, run, expected] of table) {
      await run();
      expect({ action, events: typesOf(await newEvents()) }).toEqual({ action, events: expected });
    }
  });

  it('message.updated carries each status, and a failure its code and reason', async () => {
    const inbox = await app.get(InboxesService).create(workspaceId, { name: `Statuses ${uuidv7()}`, channel: 'whatsapp', config: exampleChannelConfig('whatsapp') });
    const received = await app.get(InboundService).receive(workspaceId, {
      inboxId: inbox.id,
      contact: { externalId: `+1444${String(Date.now()).slice(-7)}` },
      message: { externalId: `wamid.${uuidv7()}`, body: 'Hi' },
    });
    const conversationId = received.conversation!.id;
    const post = async () => (await app.get(MessagesService).post(workspaceId, conversationId, null, { type: 'text', body: 'Reply' })).id;
    const sentId = await post();
    await app.get(DeliveryService).send(workspaceId, sentId, job());
    await newEvents();

    // Receipts through the status service: delivered, then read; a late "delivered" changes nothing.
    const receipt = async (status: string, error?: { code: string; reason: string }, messageId = sentId) => {
      const eventId = uuidv7();
      await owner.query(
        `INSERT INTO inbound_events (id, workspace_id, inbox_id, provider_event_id, kind, event) VALUES ($1, $2, $3, $4, 'status', $5)`,
        [eventId, workspaceId, inbox.id, `receipt-${eventId}`, JSON.stringify({ kind: 'status', providerEventId: `receipt-${eventId}`, providerMessageId: `wamid.${messageId}`, status, occurredAt: new Date().toISOString(), ...(error ? { error } : {}) })],
      );
      await app.get(StatusService).apply(workspaceId, eventId);
      return newEvents();
    };
    const statusOf = (events: EventEnvelope[]) => events.map((event) => [event.type, (event.data as { status: string }).status]);
    expect(statusOf(await receipt('delivered'))).toEqual([['message.updated', 'delivered']]);
    expect(statusOf(await receipt('read'))).toEqual([['message.updated', 'read']]);
    expect(statusOf(await receipt('delivered'))).toEqual([]);

    // A permanent refusal at send time, and a failure reported by a receipt.
    fake.refuse = { ok: false, permanent: true, code: 'whatsapp.131026', reason: 'Message undeliverable', responseCode: '400' };
    const refusedId = await post();
    await newEvents();
    await app.get(DeliveryService).send(workspaceId, refusedId, job());
    fake.refuse = null;
    const [refused] = await newEvents();
    expect(refused).toMatchObject({ type: 'message.updated', data: { id: refusedId, status: 'failed', errorCode: 'whatsapp.131026', errorReason: 'Message undeliverable' } });

    const laterId = await post();
    await app.get(DeliveryService).send(workspaceId, laterId, job());
    await newEvents();
    const [failed] = await receipt('failed', { code: 'whatsapp.131047', reason: 'Re-engagement message' }, laterId);
    expect(failed).toMatchObject({ type: 'message.updated', data: { id: laterId, status: 'failed', errorCode: 'whatsapp.131047', errorReason: 'Re-engagement message' } });
  });
});
