import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { INestApplicationContext } from '@nestjs/common';
import pg from 'pg';
import { exampleChannelConfig } from '#channels';
import { type Channel, uuidv7 } from '#domain';
import { QUEUE_NAMES, Queues } from '#queue';
import { type ApiHarness, seedTenant, type SeededTenant, type SimProvider, SimulatorHarness, startReachableApi, startWorker } from '#testing';

/**
 * Delivery end to end: the API and the worker in this process, real Postgres and Redis, and every
 * provider played by the simulator over its real wire protocol. Inboxes point their apiBaseUrl (and
 * SMTP server) at the simulator; the simulator's accounts carry the same credentials and post to
 * Ferry's hook URLs. The API listens on a port picked before it starts, named in PUBLIC_URL, so the
 * hook URLs, Twilio's signed StatusCallback URLs and the receipts all reach it.
 */

type InboxKey = 'whatsapp' | 'wechat' | 'wechatSafe' | 'sms' | 'email' | 'line' | 'telegram';

interface Inbox {
  id: string;
  channel: Channel;
  /** The simulator's account playing this inbox's provider account. */
  account: string;
}

const WAIT = { timeout: 20_000, interval: 50 };
const HOUR = 3_600_000;
const EMAIL_SECRET = 'inbound-parse-secret-e2e';

let sequence = 0;
/** Unique digits for phone numbers, chat ids, user ids. */
const nextDigits = (width: number): string => `${Date.now() % 1e6}${String(++sequence).padStart(4, '0')}`.padStart(width, '0').slice(-width);
const lineUser = (): string => `U${uuidv7().replace(/-/g, '')}`;
const wechatOpenId = (): string => `oE2e${uuidv7().replace(/-/g, '').slice(0, 24)}`;

describe('delivery end to end, with the provider simulator', () => {
  let sim: SimulatorHarness;
  let api: ApiHarness;
  let worker: INestApplicationContext;
  let tenant: SeededTenant;
  let owner: pg.Client;
  const inboxes = {} as Record<InboxKey, Inbox>;

  beforeAll(async () => {
    sim = await SimulatorHarness.start();
    api = await startReachableApi({ ALLOW_PRIVATE_URLS: 'true', RATE_LIMIT_PER_MINUTE: '100000' });
    worker = await startWorker(api.config);
    tenant = await seedTenant(api.config, 'Delivery e2e');
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();

    const { encodingAesKey, ...wechatPlain } = exampleChannelConfig('wechat');
    const configs: Record<InboxKey, { channel: Channel; config: Record<string, unknown> }> = {
      whatsapp: { channel: 'whatsapp', config: { ...exampleChannelConfig('whatsapp'), apiBaseUrl: `${sim.baseUrl}/v21.0` } },
      wechat: { channel: 'wechat', config: { ...wechatPlain, appId: 'wx00e2e0000000plain', apiBaseUrl: sim.baseUrl } },
      wechatSafe: { channel: 'wechat', config: { ...wechatPlain, appId: 'wx00e2e00000000safe', encodingAesKey, apiBaseUrl: sim.baseUrl } },
      sms: { channel: 'sms', config: { ...exampleChannelConfig('sms'), apiBaseUrl: sim.baseUrl, sendRatePerSecond: 100 } },
      email: {
        channel: 'email',
        config: {
          fromAddress: 'support@mekong-tours.example',
          fromName: 'Mekong Tours',
          smtp: { host: sim.smtpHost, port: sim.smtpPort, secure: false, user: 'support@mekong-tours.example', password: 'smtp-password-e2e' },
          inboundAddress: 'support@mekong-tours.example',
          inboundSecret: EMAIL_SECRET,
        },
      },
      line: { channel: 'line', config: { ...exampleChannelConfig('line'), apiBaseUrl: sim.baseUrl } },
      telegram: { channel: 'telegram', config: { ...exampleChannelConfig('telegram'), apiBaseUrl: sim.baseUrl } },
    };
    for (const [key, { channel, config }] of Object.entries(configs) as Array<[InboxKey, (typeof configs)[InboxKey]]>) {
      const created = await api.request('POST', '/v1/inboxes', { token: tenant.apiKey, body: { name: `${key} e2e`, channel, config } });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body.webhookUrl).toBe(`${api.baseUrl}/hooks/${channel}/${created.body.id}`);
      const account = await sim.registerAccount({ channel: channel as SimProvider, ...config, hookUrl: created.body.webhookUrl });
      inboxes[key] = { id: created.body.id, channel, account: account.id };
    }
    // Receipts stop at delivered, so that is the status a reply ends with.
    await sim.behaviour('whatsapp', { receipts: ['sent', 'delivered'] });
  });

  afterAll(async () => {
    await worker?.close();
    const queues = api?.app.get(Queues);
    for (const name of QUEUE_NAMES) await queues?.get(name).obliterate({ force: true });
    await owner?.end();
    await api?.close();
    await sim?.close();
  });

  /** The inbound message with this (unique) text, once the worker has stored it. */
  async function storedInbound(text: string): Promise<{ id: string; conversationId: string; contactId: string; identityId: string; inboxId: string }> {
    return vi.waitFor(async () => {
      const { rows } = await owner.query(
        `SELECT m.id, m.conversation_id AS "conversationId", c.contact_id AS "contactId", m.identity_id AS "identityId", m.inbox_id AS "inboxId"
         FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.workspace_id = $1 AND m.direction = 'in' AND m.body = $2`,
        [tenant.workspaceId, text],
      );
      expect(rows).toHaveLength(1);
      return rows[0];
    }, WAIT);
  }

  /** The customer writes through the simulator (signed as the provider signs); Ferry answers 200 to every delivery. */
  async function customerWrites(key: InboxKey, message: Record<string, unknown>, repeat?: number) {
    const inbox = inboxes[key];
    const result = await sim.inbound(inbox.channel as SimProvider, { account: inbox.account, message, ...(repeat ? { repeat } : {}) });
    expect(result.deliveries.map((delivery) => delivery.status), JSON.stringify(result.body)).toEqual(Array(1 + (repeat ?? 0)).fill(200));
    return result;
  }

  async function reply(conversationId: string, body: string): Promise<string> {
    const response = await api.request('POST', `/v1/conversations/${conversationId}/messages`, { token: tenant.apiKey, body: { type: 'text', body } });
    expect(response.status, JSON.stringify(response.body)).toBe(202);
    expect(response.body.status).toBe('queued');
    return response.body.id;
  }

  /**
   * The message once it has `status`, and its tries their answers: a receipt may settle a message (and
   * its open try) before the worker records the provider's answer on the try, moments later.
   */
  async function messageWhen(id: string, status: string) {
    return vi.waitFor(async () => {
      const response = await api.request('GET', `/v1/messages/${id}`, { token: tenant.apiKey });
      expect(response.status).toBe(200);
      expect(response.body.status).toBe(status);
      for (const attempt of response.body.attempts ?? []) if (attempt.status === 'sent') expect(attempt.latencyMs).not.toBeNull();
      return response.body;
    }, WAIT);
  }

  /** What the simulated provider accepted with this text in it (each accepted send is one record). */
  async function acceptedWith(channel: Channel, text: string) {
    return (await sim.sent(channel as SimProvider)).messages.filter((record) => record.text?.includes(text));
  }

  const customers: Record<InboxKey, Record<string, unknown>> = {
    whatsapp: { from: `+1555${nextDigits(7)}`, name: 'Ana Souza' },
    wechat: { from: wechatOpenId() },
    wechatSafe: { from: wechatOpenId() },
    sms: { from: `+1415${nextDigits(7)}` },
    email: { from: `Kenji Watanabe <kenji.${nextDigits(6)}@example.jp>`, subject: 'Boat tour on Friday' },
    line: { from: lineUser() },
    telegram: { from: `7${nextDigits(9)}`, name: 'Olga' },
  };
  const KEYS = Object.keys(customers) as InboxKey[];
  const conversations = {} as Record<InboxKey, { conversationId: string; contactId: string; identityId: string }>;

  it('turns a message on each channel into one conversation per contact, on the right inbox and identity', async () => {
    for (const key of KEYS) {
      const text = `First message on ${key} ${uuidv7()}`;
      await customerWrites(key, { ...customers[key], text });
      const stored = await storedInbound(text);
      expect(stored.inboxId, key).toBe(inboxes[key].id);
      conversations[key] = stored;

      // The same customer again: the same contact, identity and conversation.
      const again = `Second message on ${key} ${uuidv7()}`;
      await customerWrites(key, { ...customers[key], text: again });
      expect(await storedInbound(again), key).toMatchObject({ conversationId: stored.conversationId, contactId: stored.contactId, identityId: stored.identityId });
    }
    const contactIds = new Set(KEYS.map((key) => conversations[key].contactId));
    const conversationIds = new Set(KEYS.map((key) => conversations[key].conversationId));
    expect(contactIds.size).toBe(KEYS.length);
    expect(conversationIds.size).toBe(KEYS.length);
    for (const key of KEYS) {
      const page = await api.request('GET', `/v1/conversations/${conversations[key].conversationId}/messages?order=asc`, { token: tenant.apiKey });
      expect(page.body.data.map((m: { direction: string; channel: string }) => [m.direction, m.channel]), key).toEqual([
        ['in', inboxes[key].channel],
        ['in', inboxes[key].channel],
      ]);
    }
  });

  it('keeps the same person on WhatsApp and email in ONE conversation, linked by phone and email', async () => {
    const phone = `+1555${nextDigits(7)}`;
    const email = `maria.${nextDigits(6)}@example.com`;
    const contact = await api.request('POST', '/v1/contacts', { token: tenant.apiKey, body: { name: 'Maria Lopez', phone, email } });
    expect(contact.status).toBe(201);

    const onWhatsapp = `Hola, is the 9am boat running? ${uuidv7()}`;
    await customerWrites('whatsapp', { from: phone, name: 'Maria', text: onWhatsapp });
    const first = await storedInbound(onWhatsapp);
    const onEmail = `Following up by mail ${uuidv7()}`;
    await customerWrites('email', { from: `Maria Lopez <${email}>`, subject: 'Boat tomorrow', text: onEmail });
    const second = await storedInbound(onEmail);

    expect(first.contactId).toBe(contact.body.id);
    expect(second.contactId).toBe(contact.body.id);
    expect(second.conversationId).toBe(first.conversationId);
    expect(second.identityId).not.toBe(first.identityId);
    const identities = (await api.request('GET', `/v1/contacts/${contact.body.id}`, { token: tenant.apiKey })).body.identities;
    expect(identities.map((identity: { channel: string }) => identity.channel).sort()).toEqual(['email', 'whatsapp']);
    const conversation = await api.request('GET', `/v1/conversations/${first.conversationId}/messages?order=asc`, { token: tenant.apiKey });
    expect(conversation.body.data.map((m: { body: string; channel: string }) => [m.channel, m.body])).toEqual([
      ['whatsapp', onWhatsapp],
      ['email', onEmail],
    ]);

    // The reply goes out where she wrote last: by email, threaded under her mail.
    const answer = `Yes, it runs daily at 9. ${uuidv7()}`;
    const id = await reply(first.conversationId, answer);
    const sent = await messageWhen(id, 'sent');
    expect(sent.channel).toBe('email');
    const mails = await acceptedWith('email', answer);
    expect(mails).toHaveLength(1);
    expect(mails[0]!.to).toContain(email);
    expect(mails[0]!.ferryMessageId).toBe(id);
  });

  it('delivers an agent reply on every channel exactly once, and follows the receipts to delivered where the provider sends them', async () => {
    const expected: Record<InboxKey, string> = { whatsapp: 'delivered', sms: 'delivered', wechat: 'sent', wechatSafe: 'sent', email: 'sent', line: 'sent', telegram: 'sent' };
    const replies = await Promise.all(
      KEYS.map(async (key) => {
        const body = `Reply over ${key}: see you on Friday ${uuidv7()}`;
        return { key, body, id: await reply(conversations[key].conversationId, body) };
      }),
    );
    for (const { key, body, id } of replies) {
      const message = await messageWhen(id, expected[key]);
      expect(message, key).toMatchObject({ channel: inboxes[key].channel, inboxId: inboxes[key].id, identityId: conversations[key].identityId, errorCode: null });
      expect(message.externalId, key).toEqual(expect.any(String));
      expect(message.attempts, key).toEqual([expect.objectContaining({ status: 'sent', channel: inboxes[key].channel, errorCode: null, latencyMs: expect.any(Number) })]);
      const accepted = await acceptedWith(inboxes[key].channel, body);
      expect(accepted, `${key}: accepted by the provider exactly once`).toHaveLength(1);
      if (accepted[0]!.ferryMessageId !== undefined) expect(accepted[0]!.ferryMessageId, key).toBe(id);
      if (key === 'whatsapp' || key === 'sms') {
        expect(accepted[0]!.providerMessageId, key).toBe(message.externalId);
        expect(accepted[0]!.receipts.map((receipt) => [receipt.status, receipt.httpStatus]), key).toEqual([
          ['sent', 200],
          ['delivered', 200],
        ]);
      }
    }
    // LINE answered with the customer's fresh reply token (free), not a push.
    expect((await acceptedWith('line', replies.find((r) => r.key === 'line')!.body))[0]!.type).toBe('reply');
  });

  it("fails a reply the provider refuses for good (WeChat 45015, WhatsApp 131047), with the provider's code and reason, and never retries it", async () => {
    const wechatUser = customers.wechat.from as string;
    await sim.user('wechat', { account: inboxes.wechat.account, user: wechatUser, lastInboundAt: Date.now() - 49 * HOUR });
    const waUser = (customers.whatsapp.from as string).replace('+', '');
    await sim.user('whatsapp', { account: inboxes.whatsapp.account, user: waUser, lastInboundAt: Date.now() - 25 * HOUR });

    const wechatId = await reply(conversations.wechat.conversationId, `Out of the 48 h window ${uuidv7()}`);
    const whatsappId = await reply(conversations.whatsapp.conversationId, `Out of the 24 h window ${uuidv7()}`);

    const wechat = await messageWhen(wechatId, 'failed');
    expect(wechat).toMatchObject({ errorCode: 'wechat.45015', errorReason: expect.stringContaining('response out of time limit') });
    expect(wechat.attempts).toEqual([expect.objectContaining({ status: 'failed', errorCode: 'wechat.45015', error: expect.stringContaining('out of time limit') })]);

    const whatsapp = await messageWhen(whatsappId, 'failed');
    expect(whatsapp).toMatchObject({ errorCode: 'whatsapp.131047', errorReason: expect.stringContaining('24 hours') });
    expect(whatsapp.attempts).toEqual([expect.objectContaining({ status: 'failed', errorCode: 'whatsapp.131047', responseCode: '400' })]);

    // Nothing was accepted, and nothing tries again.
    expect(await acceptedWith('wechat', 'Out of the 48 h window')).toEqual([]);
    expect(await acceptedWith('whatsapp', 'Out of the 24 h window')).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    expect((await api.request('GET', `/v1/messages/${whatsappId}`, { token: tenant.apiKey })).body.attempts).toHaveLength(1);
    expect((await api.request('GET', `/v1/messages/${wechatId}`, { token: tenant.apiKey })).body.attempts).toHaveLength(1);
  });

  it('stores a redelivered inbound event once, on every channel', async () => {
    for (const key of ['whatsapp', 'wechatSafe', 'sms', 'line', 'telegram', 'email'] as const) {
      const text = `Sent once, delivered thrice on ${key} ${uuidv7()}`;
      await customerWrites(key, { ...customers[key], text }, 2);
      const stored = await storedInbound(text);
      expect(stored.conversationId, key).toBe(conversations[key].conversationId);
      // Give a duplicate every chance to show up: the inbound queue is idle again, and still one row.
      await vi.waitFor(async () => expect(await api.app.get(Queues).get('inbound').getJobCounts('active', 'waiting', 'delayed')).toEqual({ active: 0, waiting: 0, delayed: 0 }), WAIT);
      const { rows } = await owner.query(`SELECT count(*)::int AS n FROM messages WHERE workspace_id = $1 AND body = $2`, [tenant.workspaceId, text]);
      expect(rows[0].n, key).toBe(1);
    }
  });
});
