import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import type { DataSource } from 'typeorm';
import type { Redis } from 'ioredis';
import type { FerryConfig } from '#config';
import { type ChannelAdapter, exampleChannelConfig, type HookEvent, type HookRequest, type InboundMessageEvent, type StatusEvent } from '#channels';
import { type Channel, DomainError, uuidv7 } from '#domain';
import { createAppDataSource, TenantDb } from '#database';
import { createRedis, JobRetryable, Outbox, QUEUE_NAMES, Queues } from '#queue';
import { seedTenant, type SeededTenant, testConfig } from '#testing';
import { ContactsRepository } from '../contacts/contacts.repository.js';
import { IdentitiesRepository } from '../contacts/identities.repository.js';
import { ConversationsRepository } from '../conversations/conversations.repository.js';
import { InboundService } from '../conversations/inbound.service.js';
import { EventWriter } from '../events/event-writer.js';
import { LivePublisher } from '../events/live-publisher.js';
import type { AdapterLookup } from '../delivery/channel-adapters.js';
import { CredentialCipher } from '../inboxes/credential-cipher.js';
import { InboxesRepository } from '../inboxes/inboxes.repository.js';
import { InboxesService } from '../inboxes/inboxes.service.js';
import { MessagesRepository } from '../messages/messages.repository.js';
import { HookService } from './hook.service.js';
import { InboundEventsRepository } from './inbound-events.repository.js';
import { InboundEventsService } from './inbound-events.service.js';
import { InboxRoutes } from './inbox-routes.js';
import { MailDropService } from './mail-drop.service.js';
import { DeliveryAttemptsRepository } from '../delivery/delivery-attempts.repository.js';
import { FallbackRepository } from '../delivery/fallback.repository.js';
import { FallbackService } from '../delivery/fallback.service.js';
import { OutboundMessagesRepository } from '../delivery/outbound-messages.repository.js';
import { systemClock } from '../reachability/clock.js';
import { ReachabilityRepository } from '../reachability/reachability.repository.js';
import { ReachabilityService } from '../reachability/reachability.service.js';
import { ReceiptsRepository } from './receipts.repository.js';
import { StatusService } from './status.service.js';

/**
 * A provider in miniature, for the pipeline around the adapters: GET ?challenge= is a handshake,
 * a POST is genuine when X-Test-Signature is "good", and its JSON body {events} holds the events.
 */
const fakeAdapter: ChannelAdapter<unknown> = {
  channel: 'whatsapp',
  verify(request) {
    if (request.method === 'GET') {
      return request.query['challenge']
        ? { kind: 'handshake', reply: { status: 200, contentType: 'text/plain', body: request.query['challenge'] } }
        : { kind: 'rejected', code: 'hook.invalid_signature', reason: 'no challenge' };
    }
    return request.headers['x-test-signature'] === 'good' ? { kind: 'verified' } : { kind: 'rejected', code: 'hook.invalid_signature', reason: 'bad signature' };
  },
  async parse(request) {
    let body: { events?: Array<HookEvent & { occurredAt: string }> };
    try {
      body = JSON.parse(request.rawBody.toString('utf8'));
    } catch {
      throw DomainError.invalid('hook.malformed', 'not JSON');
    }
    if (!Array.isArray(body.events)) throw DomainError.invalid('hook.malformed', 'events must be an array');
    return { events: body.events.map((event) => ({ ...event, occurredAt: new Date(event.occurredAt) }) as HookEvent), reply: { status: 200, contentType: 'text/plain', body: 'success' } };
  },
  send: () => Promise.reject(new Error('not used')),
};

function post(events: HookEvent[], signature = 'good', rawBody?: Buffer): HookRequest {
  return {
    method: 'POST',
    url: 'http://localhost/hooks/x',
    query: {},
    headers: { 'x-test-signature': signature },
    rawBody: rawBody ?? Buffer.from(JSON.stringify({ events })),
    receivedAt: new Date(),
  };
}

function messageEvent(over: Partial<InboundMessageEvent> = {}): InboundMessageEvent {
  const id = `wamid.${uuidv7()}`;
  return { kind: 'message', providerEventId: id, providerMessageId: id, sender: { externalId: '14155550100' }, body: 'Hello', attachments: [], occurredAt: new Date(), ...over };
}

function statusEvent(providerMessageId: string, status: StatusEvent['status'], over: Partial<StatusEvent> = {}): StatusEvent {
  return { kind: 'status', providerEventId: `st.${uuidv7()}`, providerMessageId, status, occurredAt: new Date(), ...over };
}

describe('provider hooks pipeline', () => {
  let config: FerryConfig;
  let dataSource: DataSource;
  let db: TenantDb;
  let owner: pg.Client;
  let redis: Redis;
  let queues: Queues;
  let inboxes: InboxesService;
  let hooks: HookService;
  let inboundEvents: InboundEventsService;
  let statuses: StatusService;
  let mailDrop: MailDropService;
  let tenant: SeededTenant;
  const inboxOf: Partial<Record<Channel, string>> = {};

  beforeAll(async () => {
    config = await testConfig();
    dataSource = await createAppDataSource(config).initialize();
    db = new TenantDb(dataSource);
    owner = new pg.Client({ connectionString: config.database.url });
    await owner.connect();
    redis = createRedis(config, 'commands');
    queues = new Queues(redis, config);
    const inboxesRepository = new InboxesRepository();
    const identities = new IdentitiesRepository();
    const events = new InboundEventsRepository();
    const outbox = new Outbox(queues, dataSource);
    const live = new LivePublisher(redis, config);
    const writer = new EventWriter(outbox, new MessagesRepository(), new ConversationsRepository(), new ContactsRepository(), identities, live);
    inboxes = new InboxesService(db, inboxesRepository, new CredentialCipher(config.auth.appSecret), config, writer);
    const routes = new InboxRoutes(dataSource);
    hooks = new HookService(db, routes, inboxes, events, new Outbox(queues, dataSource), (() => fakeAdapter) as unknown as AdapterLookup);
    const inbound = new InboundService(db, inboxesRepository, new ContactsRepository(), identities, new ConversationsRepository(), new MessagesRepository(), writer);
    inboundEvents = new InboundEventsService(db, events, identities, inbound);
    const outboundMessages = new OutboundMessagesRepository(new Outbox(queues, dataSource));
    const reachability = new ReachabilityService(db, new ContactsRepository(), new ReachabilityRepository(), systemClock);
    const fallbackRepository = new FallbackRepository();
    const fallback = new FallbackService(db, reachability, fallbackRepository, outboundMessages, new DeliveryAttemptsRepository(), new Outbox(queues, dataSource), writer, config, systemClock);
    statuses = new StatusService(db, events, new ReceiptsRepository(), fallback, fallbackRepository, outboundMessages, writer, new Outbox(queues, dataSource));
    mailDrop = new MailDropService(routes, hooks);
    tenant = await seedTenant(config, 'Hooks');
    for (const channel of ['whatsapp', 'email', 'line', 'telegram', 'wechat'] as const) {
      const channelConfig = channel === 'email' ? { ...exampleChannelConfig('email'), inboundAddress: `support-${uuidv7()}@ferry.example` } : exampleChannelConfig(channel);
      inboxOf[channel] = (await inboxes.create(tenant.workspaceId, { name: channel, channel, config: channelConfig })).id;
    }
  });
  afterAll(async () => {
    for (const name of QUEUE_NAMES) await queues?.get(name).obliterate({ force: true });
    await queues?.close();
    redis?.disconnect();
    await owner?.end();
    await dataSource?.destroy();
  });

  const whatsapp = (): string => inboxOf.whatsapp!;
  const eventRows = async (providerEventId: string) =>
    (await owner.query(`SELECT id, kind, raw, processed_at, error, event FROM inbound_events WHERE provider_event_id = $1`, [providerEventId])).rows;
  /** The job (outbox row) that processes the event: its own, or its batch's. */
  const jobsOf = async (eventId: string) =>
    (await owner.query(`SELECT o.id, o.job_name, o.payload FROM inbound_events e JOIN outbox o ON o.id = e.job_id WHERE e.id = $1`, [eventId])).rows as Array<{
      id: string;
      job_name: string;
      payload: unknown;
    }>;
  /** Stores the events through the hook and answers their inbound_events ids, in order. */
  const store = async (events: HookEvent[], channel: Channel = 'whatsapp'): Promise<string[]> => {
    await hooks.receive(channel, inboxOf[channel]!, post(events));
    return Promise.all(events.map(async (event) => (await eventRows(event.providerEventId))[0].id as string));
  };
  const count = async (table: 'outbox' | 'inbound_events'): Promise<number> => (await owner.query(`SELECT count(*)::int AS n FROM ${table}`)).rows[0].n;
  const messagesWithExternalId = async (externalId: string) =>
    (await owner.query(`SELECT id, conversation_id, body, status, email_message_id, attachments FROM messages WHERE external_id = $1`, [externalId])).rows;

  describe('HookService', () => {
    it('stores a verified event with its job in one go, and answers the adapter\'s reply', async () => {
      const event = messageEvent({ body: 'Is the boat on time?' });
      const reply = await hooks.receive('whatsapp', whatsapp(), post([event]));
      expect(reply).toEqual({ status: 200, contentType: 'text/plain', body: 'success' });
      const rows = await eventRows(event.providerEventId);
      expect(rows).toHaveLength(1);
      expect(rows[0]).toMatchObject({ kind: 'message', processed_at: null, error: null });
      expect(rows[0].event).toMatchObject({ body: 'Is the boat on time?', occurredAt: event.occurredAt.toISOString() });
      expect(rows[0].raw).toContain('Is the boat on time?');
      expect(await jobsOf(rows[0].id)).toEqual([{ id: expect.any(String), job_name: 'inbound.process', payload: { workspaceId: tenant.workspaceId, eventIds: [rows[0].id] } }]);
    });

    it('stores the events of concurrent calls together: one transaction, one inbound.process job naming them all', async () => {
      const events = Array.from({ length: 12 }, (_, i) => messageEvent({ sender: { externalId: `1415555${String(2000 + i)}` }, body: `Together ${i}` }));
      const before = await count('outbox');
      await Promise.all(events.map((event) => hooks.receive('whatsapp', whatsapp(), post([event]))));
      const ids = (await Promise.all(events.map(async (event) => (await eventRows(event.providerEventId))[0].id as string))).sort();
      const jobs = new Map<string, string[]>();
      for (const id of ids) {
        const [job] = await jobsOf(id);
        expect(job!.job_name).toBe('inbound.process');
        jobs.set(job!.id, (job!.payload as { eventIds: string[] }).eventIds);
      }
      // Calls arriving while a batch commits go in the next one: fewer jobs than calls, each naming exactly its events.
      expect(jobs.size).toBeLessThan(events.length);
      expect([...jobs.values()].flat().sort()).toEqual(ids);
      expect(await count('outbox')).toBe(before + jobs.size);
      expect(await inboundEvents.processMany(tenant.workspaceId, ids)).toEqual(ids.map(() => 'processed'));
      for (const event of events) expect(await messagesWithExternalId(event.providerMessageId)).toHaveLength(1);
    });

    it('stores a large payload on its own, beside a batch of small ones', async () => {
      const small = [messageEvent(), messageEvent()];
      const large = messageEvent();
      const raw = Buffer.from(JSON.stringify({ events: [large], padding: 'x'.repeat(70 * 1024) }));
      await Promise.all([
        ...small.map((event) => hooks.store(tenant.workspaceId, whatsapp(), [event], Buffer.from('{}'), new Date())),
        hooks.store(tenant.workspaceId, whatsapp(), [large], raw, new Date()),
      ]);
      const jobOf = async (event: HookEvent) => (await jobsOf((await eventRows(event.providerEventId))[0].id))[0]!;
      const largeJob = await jobOf(large);
      expect(largeJob.payload).toEqual({ workspaceId: tenant.workspaceId, eventIds: [(await eventRows(large.providerEventId))[0].id] });
      for (const event of small) expect((await jobOf(event)).id).not.toBe(largeJob.id);
      expect((await eventRows(large.providerEventId))[0].raw).toHaveLength(raw.length);
    });

    it('stores an event given twice in one batch once', async () => {
      const event = messageEvent();
      expect(await hooks.store(tenant.workspaceId, whatsapp(), [event, event], Buffer.from('{}'), new Date())).toEqual({ stored: 1, duplicates: 1 });
      expect(await eventRows(event.providerEventId)).toHaveLength(1);
    });

    it('one call failing to store fails alone: the others of its batch are stored', async () => {
      const good = [messageEvent(), messageEvent()];
      // A NUL character cannot be stored in PostgreSQL text: this call's insert fails, and the batch's with it.
      const bad = messageEvent({ providerEventId: `wamid.bad\u0000${uuidv7()}` });
      const outcomes = await Promise.allSettled([good[0]!, bad, good[1]!].map((event) => hooks.store(tenant.workspaceId, whatsapp(), [event], Buffer.from('{}'), new Date())));
      expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
      for (const event of good) expect(await eventRows(event.providerEventId)).toHaveLength(1);
    });

    it('verifies with fresh credentials when the kept ones fail: a rotated secret works at once', async () => {
      // An adapter that holds the signature to the inbox's app secret.
      const bySecret = { ...fakeAdapter, verify: (request: HookRequest, inboxConfig: unknown) =>
        request.headers['x-test-signature'] === (inboxConfig as { appSecret: string }).appSecret ? { kind: 'verified' } : { kind: 'rejected', code: 'hook.invalid_signature', reason: 'bad signature' } } as ChannelAdapter<unknown>;
      const strict = new HookService(db, new InboxRoutes(dataSource), inboxes, new InboundEventsRepository(), new Outbox(queues, dataSource), (() => bySecret) as unknown as AdapterLookup);
      const inbox = await inboxes.create(tenant.workspaceId, { name: 'rotating', channel: 'whatsapp', config: { ...exampleChannelConfig('whatsapp'), appSecret: 'first-secret' } });
      const first = messageEvent();
      await strict.receive('whatsapp', inbox.id, post([first], 'first-secret'));
      await inboxes.update(tenant.workspaceId, inbox.id, { config: { appSecret: 'second-secret' } });
      const second = messageEvent();
      await strict.receive('whatsapp', inbox.id, post([second], 'second-secret'));
      await expect(strict.receive('whatsapp', inbox.id, post([messageEvent()], 'forged'))).rejects.toMatchObject({ code: 'hook.invalid_signature' });
      expect(await eventRows(first.providerEventId)).toHaveLength(1);
      expect(await eventRows(second.providerEventId)).toHaveLength(1);
    });

    it('treats a redelivered event as a no-op with the same answer', async () => {
      const event = messageEvent();
      const first = await hooks.receive('whatsapp', whatsapp(), post([event]));
      const again = await hooks.receive('whatsapp', whatsapp(), post([event]));
      expect(again).toEqual(first);
      const rows = await eventRows(event.providerEventId);
      expect(rows).toHaveLength(1);
      expect(await jobsOf(rows[0].id)).toHaveLength(1);
      expect((await jobsOf(rows[0].id))[0]!.payload).toEqual({ workspaceId: tenant.workspaceId, eventIds: [rows[0].id] });
    });

    it('queues receipts on status.apply and messages on inbound.process, one job per new event of a batch', async () => {
      const known = messageEvent();
      await hooks.receive('whatsapp', whatsapp(), post([known]));
      const receipt = statusEvent('wamid.out-batch', 'delivered');
      const fresh = messageEvent();
      const stored = await hooks.store(tenant.workspaceId, whatsapp(), [known, receipt, fresh], Buffer.from('{}'), new Date());
      expect(stored).toEqual({ stored: 2, duplicates: 1 });
      expect((await jobsOf((await eventRows(receipt.providerEventId))[0].id)).map((j) => j.job_name)).toEqual(['status.apply']);
      expect((await jobsOf((await eventRows(fresh.providerEventId))[0].id)).map((j) => j.job_name)).toEqual(['inbound.process']);
    });

    it('answers a handshake and stores nothing', async () => {
      const before = (await owner.query('SELECT count(*) FROM inbound_events')).rows[0].count;
      const reply = await hooks.receive('whatsapp', whatsapp(), { ...post([]), method: 'GET', query: { challenge: '1158201444' } });
      expect(reply).toEqual({ status: 200, contentType: 'text/plain', body: '1158201444' });
      expect((await owner.query('SELECT count(*) FROM inbound_events')).rows[0].count).toBe(before);
    });

    it('refuses a call that fails verification (hook.invalid_signature) and stores nothing', async () => {
      const event = messageEvent();
      await expect(hooks.receive('whatsapp', whatsapp(), post([event], 'forged'))).rejects.toMatchObject({ code: 'hook.invalid_signature', kind: 'unauthenticated' });
      expect(await eventRows(event.providerEventId)).toHaveLength(0);
    });

    it('refuses an unreadable payload (hook.malformed) and stores nothing', async () => {
      await expect(hooks.receive('whatsapp', whatsapp(), post([], 'good', Buffer.from('{"events": 42}')))).rejects.toMatchObject({ code: 'hook.malformed' });
      await expect(hooks.receive('whatsapp', whatsapp(), post([], 'good', Buffer.from('<<<')))).rejects.toMatchObject({ code: 'hook.malformed' });
    });

    it.each([
      ['an unknown inbox', 'whatsapp', uuidv7()],
      ['a malformed inbox id', 'whatsapp', 'not-a-uuid'],
      ['an unknown channel', 'carrier-pigeon', null],
      ['the inbox of another channel', 'telegram', null],
      ['a channel without provider hooks', 'api', null],
    ])('answers inbox.not_found to %s', async (_case, channel, inboxId) => {
      await expect(hooks.receive(channel, inboxId ?? whatsapp(), post([messageEvent()]))).rejects.toMatchObject({ code: 'inbox.not_found' });
    });

    it('no longer routes to a deleted inbox', async () => {
      const doomed = await inboxes.create(tenant.workspaceId, { name: 'gone', channel: 'whatsapp', config: exampleChannelConfig('whatsapp') });
      await inboxes.remove(tenant.workspaceId, doomed.id);
      await expect(hooks.receive('whatsapp', doomed.id, post([messageEvent()]))).rejects.toMatchObject({ code: 'inbox.not_found' });
    });
  });

  describe('inbound_events isolation', () => {
    it('shows a workspace only its own events, and nothing without a workspace', async () => {
      const event = messageEvent();
      await store([event]);
      const other = await seedTenant(config, 'Other');
      const countIn = (workspaceId: string) =>
        db.run(workspaceId, async (tx) => Number((await tx.manager.query('SELECT count(*) FROM inbound_events WHERE provider_event_id = $1', [event.providerEventId]))[0].count));
      expect(await countIn(tenant.workspaceId)).toBe(1);
      expect(await countIn(other.workspaceId)).toBe(0);
      expect((await dataSource.query('SELECT count(*) FROM inbound_events')).at(0).count).toBe(0);
    });

    it("refuses to write an event into another workspace's rows", async () => {
      const other = await seedTenant(config, 'Intruder');
      const insert = db.run(other.workspaceId, (tx) =>
        tx.manager.query(
          `INSERT INTO inbound_events (id, workspace_id, inbox_id, provider_event_id, kind, event) VALUES ($1, $2, $3, 'x', 'message', '{}')`,
          [uuidv7(), tenant.workspaceId, whatsapp()],
        ),
      );
      await expect(insert).rejects.toThrow(/row-level security/);
    });

    it('routes an inbox to its workspace before any workspace is set, and nothing else', async () => {
      expect(await new InboxRoutes(dataSource).find(whatsapp())).toEqual({ workspaceId: tenant.workspaceId, channel: 'whatsapp' });
      expect(await new InboxRoutes(dataSource).find(uuidv7())).toBeNull();
      await expect(dataSource.query('SELECT count(*) FROM inboxes')).resolves.toEqual([{ count: 0 }]);
    });
  });

  describe('inbound.process', () => {
    it('turns an event into contact, conversation and message, once however often it runs', async () => {
      const event = messageEvent({ sender: { externalId: '14155550111', name: 'Mai' }, body: 'First', attachments: [{ kind: 'image', ref: 'media-7' }] });
      const [eventId] = await store([event]);
      expect(await inboundEvents.process(tenant.workspaceId, eventId!)).toBe('processed');
      expect(await inboundEvents.process(tenant.workspaceId, eventId!)).toBe('already_processed');
      await Promise.all([inboundEvents.process(tenant.workspaceId, eventId!), inboundEvents.process(tenant.workspaceId, eventId!)]);
      const messages = await messagesWithExternalId(event.providerMessageId);
      expect(messages).toHaveLength(1);
      expect(messages[0]).toMatchObject({ body: 'First', status: 'received', attachments: [{ kind: 'image', ref: 'media-7' }] });
      // It takes its event's id, taken on arrival: the thread keeps the order Ferry received messages in.
      expect(messages[0].id).toBe(eventId);
      const contact = (await owner.query(
        `SELECT c.name, c.phone FROM contacts c JOIN contact_identities ci ON ci.contact_id = c.id WHERE ci.inbox_id = $1 AND ci.external_id = $2`,
        [whatsapp(), '14155550111'],
      )).rows;
      expect(contact).toEqual([{ name: 'Mai', phone: '+14155550111' }]);
      expect((await eventRows(event.providerEventId))[0].processed_at).toBeInstanceOf(Date);
    });

    it('links the same person on WhatsApp and email into one contact and one conversation', async () => {
      const [wa] = await store([messageEvent({ sender: { externalId: '14155550122', name: 'Lin' }, body: 'Hi on WhatsApp' })]);
      await inboundEvents.process(tenant.workspaceId, wa!);
      // The agent learns Lin's address; her next mail finds her by it.
      await owner.query(`UPDATE contacts SET email = 'lin@example.test' WHERE phone = '+14155550122'`);
      const mail = messageEvent({
        sender: { externalId: 'lin@example.test', email: 'lin@example.test' },
        body: 'Hi by mail',
        email: { messageId: `<${uuidv7()}@mail.example>`, references: [], subject: 'Booking', raw: 'MIME' },
      });
      const [mailId] = await store([mail], 'email');
      await inboundEvents.process(tenant.workspaceId, mailId!);
      const rows = (await owner.query(
        `SELECT m.body, c.contact_id FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.body IN ('Hi on WhatsApp', 'Hi by mail') ORDER BY m.id`,
      )).rows;
      expect(rows).toHaveLength(2);
      expect(rows[0].contact_id).toBe(rows[1].contact_id);
      const conversations = new Set((await owner.query(`SELECT conversation_id FROM messages WHERE body IN ('Hi on WhatsApp', 'Hi by mail')`)).rows.map((r) => r.conversation_id));
      expect(conversations.size).toBe(1);
    });

    it('threads an email reply by In-Reply-To, then References, reopening its resolved conversation', async () => {
      const address = `kim-${uuidv7()}@example.test`;
      const sender = { externalId: address, email: address };
      const first = messageEvent({ sender, body: 'Question', email: { messageId: `<q-${uuidv7()}@mail.example>`, references: [], raw: '' } });
      await inboundEvents.process(tenant.workspaceId, (await store([first], 'email'))[0]!);
      const [{ conversation_id: threadId }] = await messagesWithExternalId(first.providerMessageId);
      // Our answer went out with its own Message-ID; then the thread was resolved.
      const ourId = `<out-${uuidv7()}@ferry.example>`;
      await owner.query(
        `INSERT INTO messages (id, workspace_id, conversation_id, direction, body, status, email_message_id) VALUES ($1, $2, $3, 'out', 'Answer', 'sent', $4)`,
        [uuidv7(), tenant.workspaceId, threadId, ourId],
      );
      await owner.query(`UPDATE conversations SET status = 'resolved', resolved_at = now() WHERE id = $1`, [threadId]);

      const reply = messageEvent({ sender, body: 'Thanks', email: { messageId: `<r-${uuidv7()}@mail.example>`, inReplyTo: ourId, references: [ourId], raw: '' } });
      await inboundEvents.process(tenant.workspaceId, (await store([reply], 'email'))[0]!);
      expect((await messagesWithExternalId(reply.providerMessageId))[0]).toMatchObject({ conversation_id: threadId, email_message_id: reply.email!.messageId });
      expect((await owner.query('SELECT status, resolved_at FROM conversations WHERE id = $1', [threadId])).rows[0]).toEqual({ status: 'open', resolved_at: null });

      // A client that sends only References (the parent last) threads the same way.
      const later = messageEvent({ sender, body: 'One more', email: { messageId: `<l-${uuidv7()}@mail.example>`, references: ['<unknown@x>', reply.email!.messageId], raw: '' } });
      await inboundEvents.process(tenant.workspaceId, (await store([later], 'email'))[0]!);
      expect((await messagesWithExternalId(later.providerMessageId))[0].conversation_id).toBe(threadId);
    });

    it("replaces the body of the message a customer edits, and keeps LINE's reply token on the identity", async () => {
      const original = messageEvent({ sender: { externalId: 'tg-42' }, body: 'See you at 9' });
      await inboundEvents.process(tenant.workspaceId, (await store([original], 'telegram'))[0]!);
      const edit = messageEvent({ sender: { externalId: 'tg-42' }, body: 'See you at 10', providerMessageId: original.providerMessageId, editOf: original.providerMessageId });
      expect(await inboundEvents.process(tenant.workspaceId, (await store([edit], 'telegram'))[0]!)).toBe('processed');
      const rows = await messagesWithExternalId(original.providerMessageId);
      expect(rows).toHaveLength(1);
      expect(rows[0].body).toBe('See you at 10');

      // An edit processed before its original stands in for it; the original, late, changes nothing.
      const late = messageEvent({ sender: { externalId: 'tg-42' }, body: 'Table for 2' });
      const earlyEdit = messageEvent({ sender: { externalId: 'tg-42' }, body: 'Table for 3', providerMessageId: `${late.providerMessageId}:edit:1`, editOf: late.providerMessageId });
      const [editId, lateId] = await store([earlyEdit, late], 'telegram');
      await inboundEvents.process(tenant.workspaceId, editId!);
      expect(await inboundEvents.process(tenant.workspaceId, lateId!)).toBe('processed');
      expect((await messagesWithExternalId(late.providerMessageId)).map((m) => m.body)).toEqual(['Table for 3']);
      expect(await messagesWithExternalId(earlyEdit.providerMessageId)).toHaveLength(0);

      const expiresAt = new Date(Date.now() + 60_000);
      const line = messageEvent({ sender: { externalId: 'U4af4980629' }, replyToken: { token: 'rt-abc', expiresAt } });
      await inboundEvents.process(tenant.workspaceId, (await store([line], 'line'))[0]!);
      const identity = (await owner.query(`SELECT reply_token, reply_token_expires_at FROM contact_identities WHERE external_id = 'U4af4980629'`)).rows[0];
      expect(identity).toEqual({ reply_token: 'rt-abc', reply_token_expires_at: expiresAt });
    });

    it('creates the identity on a follow, marks it on an unfollow, clears the mark on a new follow', async () => {
      const openId = `oWx-${uuidv7()}`;
      const follow = (action: 'subscribed' | 'unsubscribed', at: Date): HookEvent => ({ kind: 'contact', providerEventId: `${openId}:${at.getTime()}`, sender: { externalId: openId }, action, occurredAt: at });
      const identity = async () => (await owner.query(`SELECT unsubscribed_at FROM contact_identities WHERE external_id = $1`, [openId])).rows;
      await inboundEvents.process(tenant.workspaceId, (await store([follow('subscribed', new Date(1_000_000))], 'wechat'))[0]!);
      expect(await identity()).toEqual([{ unsubscribed_at: null }]);
      await inboundEvents.process(tenant.workspaceId, (await store([follow('unsubscribed', new Date(2_000_000))], 'wechat'))[0]!);
      expect(await identity()).toEqual([{ unsubscribed_at: new Date(2_000_000) }]);
      await inboundEvents.process(tenant.workspaceId, (await store([follow('subscribed', new Date(3_000_000))], 'wechat'))[0]!);
      expect(await identity()).toEqual([{ unsubscribed_at: null }]);
      expect((await owner.query(`SELECT count(*) FROM messages m JOIN contact_identities ci ON ci.id = m.identity_id WHERE ci.external_id = $1`, [openId])).rows[0].count).toBe(0);
    });

    it('records why a malformed stored event cannot be processed, and does not retry it', async () => {
      const event = messageEvent();
      const [eventId] = await store([event]);
      await owner.query(`UPDATE inbound_events SET event = event - 'sender' WHERE id = $1`, [eventId]);
      expect(await inboundEvents.process(tenant.workspaceId, eventId!)).toBe('failed');
      expect((await eventRows(event.providerEventId))[0]).toMatchObject({ processed_at: null, error: expect.stringMatching(/sender must be an object/) });
      expect(await messagesWithExternalId(event.providerMessageId)).toHaveLength(0);
    });

    it('processes a batch in one go; a bad event in it fails alone, the others are processed', async () => {
      const done = messageEvent({ sender: { externalId: '14155550301' }, body: 'done before' });
      const [doneId] = await store([done]);
      expect(await inboundEvents.process(tenant.workspaceId, doneId!)).toBe('processed');
      const events = [
        messageEvent({ sender: { externalId: '14155550302' }, body: 'one' }),
        messageEvent({ sender: { externalId: '14155550301' }, body: 'two' }),
        messageEvent({ sender: { externalId: '14155550302' }, body: 'three' }),
      ];
      const ids = await store(events);
      const bad = messageEvent();
      const [badId] = await store([bad]);
      await owner.query(`UPDATE inbound_events SET event = event - 'sender' WHERE id = $1`, [badId]);
      const missing = uuidv7();
      expect(await inboundEvents.processMany(tenant.workspaceId, [doneId!, ...ids, badId!, missing])).toEqual([
        'already_processed', 'processed', 'processed', 'processed', 'failed', 'missing',
      ]);
      for (const event of events) expect(await messagesWithExternalId(event.providerMessageId)).toHaveLength(1);
      expect((await eventRows(bad.providerEventId))[0]).toMatchObject({ processed_at: null, error: expect.stringMatching(/sender must be an object/) });
      // Each customer's messages in arrival order, one conversation each.
      const thread = (await owner.query(
        `SELECT m.body FROM messages m JOIN contact_identities ci ON ci.id = m.identity_id WHERE ci.external_id = '14155550302' ORDER BY m.id`,
      )).rows.map((row) => row.body);
      expect(thread).toEqual(['one', 'three']);
      // A clean batch commits together, and running it again changes nothing.
      const more = [messageEvent({ sender: { externalId: '14155550303' } }), messageEvent({ sender: { externalId: '14155550304' } })];
      const moreIds = await store(more);
      expect(await inboundEvents.processMany(tenant.workspaceId, moreIds)).toEqual(['processed', 'processed']);
      expect(await inboundEvents.processMany(tenant.workspaceId, moreIds)).toEqual(['already_processed', 'already_processed']);
    });

    it('writes known customers of a batch together, exactly as one by one; snoozed, redelivered and mixed customers the long way', async () => {
      const senders = ['14155550401', '14155550402', '14155550403', '14155550404'];
      for (const sender of senders) {
        const [id] = await store([messageEvent({ sender: { externalId: sender }, body: 'hello' })]);
        expect(await inboundEvents.process(tenant.workspaceId, id!)).toBe('processed');
      }
      const conversationOf = async (sender: string) =>
        (await owner.query(
          `SELECT c.id, c.status, c.last_activity_at, c.last_inbox_id, ci.last_inbound_at FROM conversations c
           JOIN contact_identities ci ON ci.contact_id = c.contact_id WHERE ci.external_id = $1`,
          [sender],
        )).rows[0];
      // The third customer's conversation is snoozed: their message wakes it up (the long way).
      await owner.query(`UPDATE conversations SET status = 'snoozed', snoozed_until = now() + interval '1 day' WHERE id = $1`, [(await conversationOf(senders[2]!)).id]);
      const before = await conversationOf(senders[0]!);
      const redelivered = messageEvent({ sender: { externalId: senders[3]! } });
      const [redeliveredId] = await store([redelivered]);
      expect(await inboundEvents.process(tenant.workspaceId, redeliveredId!)).toBe('processed');
      // The same provider message again under a new event id: a redelivery the message table recognises.
      const again = { ...redelivered, providerEventId: `again.${uuidv7()}` };
      const events = [
        messageEvent({ sender: { externalId: senders[0]! }, body: 'a1' }),
        messageEvent({ sender: { externalId: senders[1]! }, body: 'b1' }),
        messageEvent({ sender: { externalId: senders[0]! }, body: 'a2' }),
        messageEvent({ sender: { externalId: senders[2]! }, body: 'c1' }),
        again,
      ];
      const ids = await store(events);
      const outbox = await count('outbox');
      const together = vi.spyOn(MessagesRepository.prototype, 'insertInboundMany');
      expect(await inboundEvents.processMany(tenant.workspaceId, ids)).toEqual(ids.map(() => 'processed'));
      // The first two customers went together; the snoozed one and the redelivery did not.
      expect(together.mock.calls.map(([, rows]) => rows.map((row) => row.body))).toEqual([['a1', 'a2', 'b1']]);
      together.mockRestore();
      const thread = async (sender: string) =>
        (await owner.query(`SELECT m.id, m.body, m.status, m.direction FROM messages m JOIN contact_identities ci ON ci.id = m.identity_id WHERE ci.external_id = $1 ORDER BY m.id`, [sender])).rows;
      expect((await thread(senders[0]!)).map((m) => m.body)).toEqual(['hello', 'a1', 'a2']);
      expect((await thread(senders[0]!))[1]).toMatchObject({ id: ids[0], status: 'received', direction: 'in' });
      expect((await thread(senders[1]!)).map((m) => m.body)).toEqual(['hello', 'b1']);
      expect((await thread(senders[2]!)).map((m) => m.body)).toEqual(['hello', 'c1']);
      expect(await messagesWithExternalId(redelivered.providerMessageId)).toHaveLength(1);
      const after = await conversationOf(senders[0]!);
      expect(after.last_activity_at.getTime()).toBeGreaterThan(before.last_activity_at.getTime());
      expect(after.last_inbound_at.getTime()).toBeGreaterThan(before.last_inbound_at.getTime());
      expect(after.last_inbox_id).toBe(whatsapp());
      expect((await conversationOf(senders[2]!)).status).toBe('open');
      // No endpoint subscribes in this workspace: the message events went live only, no outbox rows.
      expect(await count('outbox')).toBe(outbox);
    });

    it('answers missing for an event of another workspace', async () => {
      const [eventId] = await store([messageEvent()]);
      const other = await seedTenant(config, 'Elsewhere');
      expect(await inboundEvents.process(other.workspaceId, eventId!)).toBe('missing');
    });
  });

  describe('status.apply', () => {
    let conversationId: string;
    let identityId: string;

    beforeAll(async () => {
      const event = messageEvent({ sender: { externalId: '14155550199' } });
      await inboundEvents.process(tenant.workspaceId, (await store([event]))[0]!);
      const row = (await owner.query(`SELECT conversation_id, identity_id FROM messages WHERE external_id = $1`, [event.providerMessageId])).rows[0];
      conversationId = row.conversation_id;
      identityId = row.identity_id;
    });

    const outbound = async (status: 'queued' | 'sent', externalId: string | null): Promise<string> => {
      const id = uuidv7();
      await owner.query(
        `INSERT INTO messages (id, workspace_id, conversation_id, direction, body, status, identity_id, inbox_id, external_id)
         VALUES ($1, $2, $3, 'out', 'Reply', $4, $5, $6, $7)`,
        [id, tenant.workspaceId, conversationId, status, identityId, whatsapp(), externalId],
      );
      return id;
    };
    const attempt = async (messageId: string, status: string, providerMessageId: string | null): Promise<string> => {
      const id = uuidv7();
      await owner.query(
        `INSERT INTO delivery_attempts (id, workspace_id, message_id, identity_id, inbox_id, channel, status, provider_message_id)
         VALUES ($1, $2, $3, $4, $5, 'whatsapp', $6, $7)`,
        [id, tenant.workspaceId, messageId, identityId, whatsapp(), status, providerMessageId],
      );
      return id;
    };
    const message = async (id: string) =>
      (await owner.query('SELECT status, external_id, error_code, error_reason FROM messages WHERE id = $1', [id])).rows[0];
    const attemptRow = async (id: string) =>
      (await owner.query('SELECT status, provider_message_id, receipt_status, receipt_at FROM delivery_attempts WHERE id = $1', [id])).rows[0];
    const usageJobs = async (messageId: string): Promise<number> =>
      (await owner.query(`SELECT count(*)::int AS n FROM outbox WHERE job_name = 'billing.usage' AND payload->>'messageId' = $1`, [messageId])).rows[0].n;
    const apply = async (event: StatusEvent) => statuses.apply(tenant.workspaceId, (await store([event]))[0]!);

    it('only moves forward: delivered, then a late sent changes nothing, then read', async () => {
      const providerId = `wamid.${uuidv7()}`;
      const id = await outbound('sent', providerId);
      const attemptId = await attempt(id, 'sent', providerId);
      const delivered = statusEvent(providerId, 'delivered', { occurredAt: new Date('2026-03-01T10:00:00Z') });
      expect(await apply(delivered)).toBe('applied');
      expect(await message(id)).toMatchObject({ status: 'delivered' });
      expect(await attemptRow(attemptId)).toMatchObject({ status: 'sent', receipt_status: 'delivered', receipt_at: new Date('2026-03-01T10:00:00Z') });
      expect(await apply(statusEvent(providerId, 'sent'))).toBe('stale');
      expect(await message(id)).toMatchObject({ status: 'delivered' });
      expect(await attemptRow(attemptId)).toMatchObject({ receipt_status: 'delivered' });
      expect(await apply(statusEvent(providerId, 'read'))).toBe('applied');
      expect(await apply(statusEvent(providerId, 'failed', { error: { code: '131000', reason: 'late' } }))).toBe('stale');
      expect(await message(id)).toEqual({ status: 'read', external_id: providerId, error_code: null, error_reason: null });
      // The same receipt twice is one receipt.
      const eventId = (await eventRows(delivered.providerEventId))[0].id;
      expect(await statuses.apply(tenant.workspaceId, eventId)).toBe('already_processed');
      // Counted by delivery when it was marked sent; receipts after that add nothing.
      expect(await usageJobs(id)).toBe(0);
    });

    it("keeps the provider's code and reason on a failure", async () => {
      const providerId = `wamid.${uuidv7()}`;
      const id = await outbound('sent', providerId);
      await apply(statusEvent(providerId, 'failed', { error: { code: '131047', reason: 'Re-engagement message: more than 24 hours since the customer last replied' } }));
      expect(await message(id)).toEqual({
        status: 'failed',
        external_id: providerId,
        error_code: '131047',
        error_reason: 'Re-engagement message: more than 24 hours since the customer last replied',
      });
      const silent = `wamid.${uuidv7()}`;
      const other = await outbound('sent', silent);
      await apply(statusEvent(silent, 'failed'));
      expect(await message(other)).toMatchObject({ status: 'failed', error_code: 'provider.failed', error_reason: expect.any(String) });
    });

    it('retries a receipt that beat our record of the provider id, then applies it', async () => {
      const providerId = `wamid.${uuidv7()}`;
      const id = await outbound('queued', null);
      const receipt = statusEvent(providerId, 'delivered');
      const eventId = (await store([receipt]))[0]!;
      await expect(statuses.apply(tenant.workspaceId, eventId)).rejects.toBeInstanceOf(JobRetryable);
      expect((await eventRows(receipt.providerEventId))[0]).toMatchObject({ processed_at: null, error: expect.stringContaining(providerId) });
      expect(await message(id)).toMatchObject({ status: 'queued' });
      // The send's own record lands (the outbound worker commits the provider id), and the retry applies.
      await owner.query(`UPDATE messages SET status = 'sent', external_id = $2 WHERE id = $1`, [id, providerId]);
      expect(await statuses.apply(tenant.workspaceId, eventId)).toBe('applied');
      expect(await message(id)).toMatchObject({ status: 'delivered' });
      expect((await eventRows(receipt.providerEventId))[0]).toMatchObject({ processed_at: expect.any(Date), error: null });
    });

    it('settles a send left in doubt by a receipt that carries our message id', async () => {
      const id = await outbound('queued', null);
      const open = await attempt(id, 'sending', null);
      const providerId = `wamid.${uuidv7()}`;
      expect(await apply(statusEvent(providerId, 'sent', { messageId: id }))).toBe('applied');
      expect(await message(id)).toMatchObject({ status: 'sent', external_id: providerId });
      expect(await attemptRow(open)).toMatchObject({ status: 'sent', provider_message_id: providerId, receipt_status: 'sent' });
      // It left the queue here, not in delivery: it counts once towards usage (billing's job, same transaction).
      expect(await usageJobs(id)).toBe(1);
    });

    it('matches a receipt for an earlier hop by the provider id on its delivery attempt', async () => {
      const hopId = `wamid.${uuidv7()}`;
      const id = await outbound('sent', 'sms-latest-hop');
      const hop = await attempt(id, 'sent', hopId);
      expect(await apply(statusEvent(hopId, 'delivered'))).toBe('applied');
      expect(await message(id)).toMatchObject({ status: 'delivered' });
      expect(await attemptRow(hop)).toMatchObject({ receipt_status: 'delivered' });
    });
  });

  describe('mail drop (the SMTP listener\'s path)', () => {
    it('stores a mail for the inbox that claims its recipient, like the hook, once', async () => {
      const address = (await owner.query(`SELECT config->>'inboundAddress' AS a FROM inboxes WHERE id = $1`, [inboxOf.email])).rows[0].a as string;
      const recipient = await mailDrop.recipient(address.toUpperCase());
      expect(recipient).toEqual({ inboxId: inboxOf.email, workspaceId: tenant.workspaceId });
      expect(await mailDrop.recipient('nobody@nowhere.example')).toBeNull();
      const messageId = `<${uuidv7()}@sender.example>`;
      const raw = Buffer.from(
        `From: Ana <ana@sender.example>\r\nTo: ${address}\r\nSubject: Hello\r\nMessage-ID: ${messageId}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\nHello there\r\n`,
      );
      await mailDrop.deliver([recipient!, recipient!], raw, new Date());
      await mailDrop.deliver([recipient!], raw, new Date());
      const rows = await eventRows(messageId);
      expect(rows).toHaveLength(1);
      expect(rows[0].event).toMatchObject({ kind: 'message', body: 'Hello there', sender: { email: 'ana@sender.example' } });
      expect(await jobsOf(rows[0].id)).toHaveLength(1);
      expect((await jobsOf(rows[0].id))[0]!.payload).toEqual({ workspaceId: tenant.workspaceId, eventIds: [rows[0].id] });
    });
  });
});
