import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import pg from 'pg';
import { exampleChannelConfig } from '#channels';
import { uuidv7 } from '#domain';
import { QUEUE_NAMES, Queues } from '#queue';
import { type ApiHarness, seedTenant, type SeededTenant, SimulatorHarness, startReachableApi, WorkerProcess } from '#testing';

/**
 * Fallback end to end: the API, a real worker process (killed with SIGKILL in one test) and the
 * providers played by the simulator. A reply travels over its route of identities: WeChat refusing
 * it (45015) sends it on WhatsApp; WhatsApp reporting no delivery within the (compressed) deadline
 * sends it on SMS; a late receipt of an earlier hop is recorded on its attempt and the message keeps
 * one final state; a crash between hops still makes the next hop exactly once; a burst to one
 * WhatsApp user is spaced by the pair rate, in order, none failed; the workspace's default policy
 * builds the route of a reply that names none.
 */

type Key = 'wechat' | 'whatsapp' | 'sms';

const WAIT = { timeout: 30_000, interval: 100 };
const DEADLINE_MS = 1500;
const PAIR_MS = 400;
const HOUR = 3_600_000;

let sequence = 0;
const digits = (width: number): string => `${Date.now() % 1e6}${String(++sequence).padStart(4, '0')}`.padStart(width, '0').slice(-width);

interface Customer {
  contactId: string;
  conversationId: string;
  identity: Record<Key, string>;
  address: Record<Key, string>;
}

interface Attempt {
  channel: string;
  identityId: string;
  status: string;
  providerMessageId: string | null;
  errorCode: string | null;
  receiptStatus: string | null;
  fallbackReason: string | null;
}

interface Detail {
  id: string;
  status: string;
  channel: string;
  identityId: string;
  fallback: string[];
  errorCode: string | null;
  attempts: Attempt[];
}

describe('fallback hops, with the provider simulator and a worker process', () => {
  let sim: SimulatorHarness;
  let api: ApiHarness;
  let worker: WorkerProcess;
  let tenant: SeededTenant;
  let owner: pg.Client;
  const inbox = {} as Record<Key, { id: string; account: string }>;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are asserted per test
  const call = <T = any>(method: string, path: string, body?: unknown) => api.request<T>(method, path, { token: tenant.apiKey, ...(body === undefined ? {} : { body }) });

  beforeAll(async () => {
    sim = await SimulatorHarness.start();
    api = await startReachableApi({
      ALLOW_PRIVATE_URLS: 'true',
      RATE_LIMIT_PER_MINUTE: '100000',
      FALLBACK_DELIVERY_DEADLINE_MS: String(DEADLINE_MS),
      WHATSAPP_PAIR_INTERVAL_MS: String(PAIR_MS),
      // A killed worker's jobs are taken over within two lock durations.
      WORKER_LOCK_DURATION_MS: '2000',
      // Longer than a slow provider's answer plus its receipt under load: a resend here would be a test artefact.
      DELIVERY_IN_DOUBT_GRACE_MS: '12000',
      DELIVERY_TIMEOUT_MS: '6000',
      OUTBOX_RELAY_INTERVAL_MS: '300',
      OUTBOX_RELAY_GRACE_MS: '1000',
    });
    worker = await WorkerProcess.start(api.config);
    tenant = await seedTenant(api.config, 'Fallback e2e');
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
    const { encodingAesKey: _safeMode, ...wechatPlain } = exampleChannelConfig('wechat');
    const configs: Record<Key, Record<string, unknown>> = {
      wechat: { ...wechatPlain, appId: 'wx00fallback00000e2e', apiBaseUrl: sim.baseUrl },
      whatsapp: { ...exampleChannelConfig('whatsapp'), apiBaseUrl: `${sim.baseUrl}/v21.0` },
      sms: { ...exampleChannelConfig('sms'), apiBaseUrl: sim.baseUrl, sendRatePerSecond: 100 },
    };
    for (const key of ['wechat', 'whatsapp', 'sms'] as const) {
      const created = await call('POST', '/v1/inboxes', { name: `${key} fallback`, channel: key, config: configs[key] });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const account = await sim.registerAccount({ channel: key, ...configs[key], hookUrl: created.body.webhookUrl });
      inbox[key] = { id: created.body.id, account: account.id };
    }
  });

  afterAll(async () => {
    await worker?.stop();
    const queues = api?.app.get(Queues);
    for (const name of QUEUE_NAMES) await queues?.get(name).obliterate({ force: true }).catch(() => undefined);
    await owner?.end();
    await api?.close();
    await sim?.close();
  });

  /** Receipts as in life, one each: sent, then delivered (a final state the tests can wait for). */
  async function providersBehave(): Promise<void> {
    await sim.behaviour('whatsapp', { receipts: ['sent', 'delivered'] });
    await sim.behaviour('sms', { receipts: ['sent', 'delivered'] });
    await sim.behaviour('wechat', {});
  }

  /**
   * A customer with an identity on each channel, every window open in Ferry and at the provider
   * (each provider's own view can then be changed: WeChat blocking, WhatsApp's window closed).
   */
  async function customer(name: string): Promise<Customer> {
    const contact = await call('POST', '/v1/contacts', { name: `${name} ${uuidv7()}` });
    expect(contact.status, JSON.stringify(contact.body)).toBe(201);
    const address: Record<Key, string> = { wechat: `oFb${uuidv7().replace(/-/g, '').slice(0, 25)}`, whatsapp: `1555${digits(7)}`, sms: `+1415${digits(7)}` };
    const identity = {} as Record<Key, string>;
    for (const key of ['wechat', 'whatsapp', 'sms'] as const) {
      const created = await call('POST', `/v1/contacts/${contact.body.id}/identities`, { inboxId: inbox[key].id, externalId: address[key] });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      identity[key] = created.body.id;
    }
    await owner.query('UPDATE contact_identities SET last_inbound_at = now() WHERE id = ANY($1)', [[identity.wechat, identity.whatsapp]]);
    await sim.user('wechat', { account: inbox.wechat.account, user: address.wechat, lastInboundAt: Date.now() });
    await sim.user('whatsapp', { account: inbox.whatsapp.account, user: address.whatsapp, lastInboundAt: Date.now() });
    const conversation = await call('POST', '/v1/conversations', { contactId: contact.body.id });
    expect(conversation.status, JSON.stringify(conversation.body)).toBe(201);
    return { contactId: contact.body.id, conversationId: conversation.body.id, identity, address };
  }

  async function send(conversationId: string, body: Record<string, unknown>): Promise<string> {
    const accepted = await call('POST', `/v1/conversations/${conversationId}/messages`, { type: 'text', ...body });
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    return accepted.body.id;
  }

  const detail = async (id: string): Promise<Detail> => (await call<Detail>('GET', `/v1/messages/${id}`)).body;

  async function until(id: string, check: (message: Detail) => void): Promise<Detail> {
    return vi.waitFor(async () => {
      const message = await detail(id);
      check(message);
      return message;
    }, WAIT);
  }

  /** How many times the simulator accepted this message of ours (by the id it carries), and the texts it got on a channel. */
  async function deliveries(key: 'whatsapp' | 'sms', messageId: string): Promise<number> {
    return (await sim.sent(key)).deliveryCounts[messageId] ?? 0;
  }

  const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

  it('WeChat refuses (45015): the message goes on WhatsApp and is delivered there, both attempts in its ledger, one delivery', async () => {
    await providersBehave();
    const who = await customer('Li Wei');
    await sim.user('wechat', { account: inbox.wechat.account, user: who.address.wechat, blocked: true });
    const text = `Your ferry leaves at 9 ${uuidv7()}`;
    const id = await send(who.conversationId, { body: text, via: { identityId: who.identity.wechat }, fallback: [who.identity.whatsapp] });

    const message = await until(id, (m) => expect(m.status).toBe('delivered'));
    expect(message).toMatchObject({ channel: 'whatsapp', identityId: who.identity.whatsapp, errorCode: null });
    expect(message.attempts).toHaveLength(2);
    expect(message.attempts[0]).toMatchObject({ channel: 'wechat', identityId: who.identity.wechat, status: 'failed', errorCode: expect.stringContaining('45015'), fallbackReason: 'provider_failed' });
    expect(message.attempts[1]).toMatchObject({ channel: 'whatsapp', identityId: who.identity.whatsapp, status: 'sent', receiptStatus: 'delivered', fallbackReason: null });
    expect(await deliveries('whatsapp', id)).toBe(1);
    expect((await sim.sent('wechat')).messages.filter((m) => m.text === text)).toEqual([]);
  });

  it('no delivery receipt within the deadline: the message goes on to the next channel; a late receipt of the first is recorded on its attempt only', async () => {
    await providersBehave();
    await sim.behaviour('whatsapp', { mode: 'silent' });
    const who = await customer('Ana Souza');
    const id = await send(who.conversationId, { body: `Pickup at the pier ${uuidv7()}`, via: { identityId: who.identity.whatsapp }, fallback: [who.identity.sms] });

    // Sent on WhatsApp, then nothing: it stays sent there until the deadline.
    const sentFirst = await until(id, (m) => expect(m).toMatchObject({ status: 'sent', channel: 'whatsapp' }));
    const started = Date.now();
    const message = await until(id, (m) => expect(m).toMatchObject({ status: 'delivered', channel: 'sms' }));
    expect(Date.now() - started).toBeLessThan(DEADLINE_MS + 15_000);
    expect(message.identityId).toBe(who.identity.sms);
    expect(message.attempts.map((a) => [a.channel, a.status, a.fallbackReason, a.receiptStatus])).toEqual([
      ['whatsapp', 'sent', 'no_receipt', null],
      ['sms', 'sent', null, 'delivered'],
    ]);
    expect(await deliveries('whatsapp', id)).toBe(1);
    expect(await deliveries('sms', id)).toBe(1);

    // WhatsApp's receipt comes after all: on its attempt; the message stays delivered on SMS.
    const whatsappId = sentFirst.attempts[0]!.providerMessageId!;
    await sim.behaviour('whatsapp', { receipts: ['sent', 'delivered'] });
    await sim.receipt('whatsapp', { providerMessageId: whatsappId, status: 'delivered' });
    const after = await until(id, (m) => expect(m.attempts[0]!.receiptStatus).toBe('delivered'));
    expect(after).toMatchObject({ status: 'delivered', channel: 'sms', identityId: who.identity.sms });
    await sim.receipt('whatsapp', { providerMessageId: whatsappId, status: 'read' });
    const read = await until(id, (m) => expect(m.attempts[0]!.receiptStatus).toBe('read'));
    expect(read).toMatchObject({ status: 'delivered', channel: 'sms' });
  });

  it('a late delivered receipt of the first hop while the next is only sent: delivered via the first, the later receipt on its attempt only', async () => {
    await providersBehave();
    await sim.behaviour('whatsapp', { mode: 'silent' });
    await sim.behaviour('sms', { mode: 'silent' });
    const who = await customer('Kenji Sato');
    const id = await send(who.conversationId, { body: `Gate 4 ${uuidv7()}`, via: { identityId: who.identity.whatsapp }, fallback: [who.identity.sms] });
    const onSms = await until(id, (m) => expect(m).toMatchObject({ status: 'sent', channel: 'sms' }));
    const [first, second] = onSms.attempts;

    await sim.behaviour('whatsapp', { receipts: ['delivered'] });
    await sim.receipt('whatsapp', { providerMessageId: first!.providerMessageId!, status: 'delivered' });
    const adopted = await until(id, (m) => expect(m.status).toBe('delivered'));
    // The customer got it on WhatsApp: that is the channel it went on.
    expect(adopted).toMatchObject({ channel: 'whatsapp', identityId: who.identity.whatsapp });

    await sim.behaviour('sms', { receipts: ['delivered'] });
    await sim.receipt('sms', { providerMessageId: second!.providerMessageId!, status: 'delivered' });
    const final = await until(id, (m) => expect(m.attempts[1]!.receiptStatus).toBe('delivered'));
    expect(final).toMatchObject({ status: 'delivered', channel: 'whatsapp', identityId: who.identity.whatsapp });
    // And no deadline moves it again.
    await sleep(DEADLINE_MS + 500);
    expect(await detail(id)).toMatchObject({ status: 'delivered', channel: 'whatsapp' });
    expect((await detail(id)).attempts).toHaveLength(2);
  });

  it('survives a SIGKILL between hops: the next hop happens exactly once', async () => {
    await providersBehave();
    await sim.behaviour('whatsapp', { mode: 'slow', delayMs: 2500, receipts: ['sent', 'delivered'] });
    const who = await customer('Mei Chen');
    await sim.user('wechat', { account: inbox.wechat.account, user: who.address.wechat, blocked: true });
    const id = await send(who.conversationId, { body: `Boarding now ${uuidv7()}`, via: { identityId: who.identity.wechat }, fallback: [who.identity.whatsapp] });

    // WeChat refused it, the hop to WhatsApp is recorded, and WhatsApp's call is in flight: kill.
    await vi.waitFor(async () => {
      const { rows } = await owner.query(`SELECT channel, status FROM delivery_attempts WHERE message_id = $1 ORDER BY created_at`, [id]);
      expect(rows).toEqual([
        { channel: 'wechat', status: 'failed' },
        { channel: 'whatsapp', status: 'sending' },
      ]);
    }, WAIT);
    await worker.kill();
    await sleep(300);
    await worker.restart();

    const message = await until(id, (m) => expect(m.status).toBe('delivered'));
    expect(message).toMatchObject({ channel: 'whatsapp', identityId: who.identity.whatsapp });
    expect(message.attempts.map((a) => a.channel)).toEqual(['wechat', 'whatsapp']);
    // Long enough for a blind resend to have happened (in-doubt grace, lock takeover).
    await sleep(5000);
    expect(await deliveries('whatsapp', id)).toBe(1);
    expect((await detail(id)).status).toBe('delivered');
  }, 60_000);

  it('a burst to one WhatsApp user is spaced by the pair rate, in order, none failed', async () => {
    await providersBehave();
    const who = await customer('Sofia Rossi');
    const tag = uuidv7();
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push(await send(who.conversationId, { body: `Update ${i} ${tag}`, via: { identityId: who.identity.whatsapp }, fallback: [] }));
    for (const id of ids) await until(id, (m) => expect(m.status).toBe('delivered'));

    const received = (await sim.sent('whatsapp')).messages.filter((m) => m.text?.endsWith(tag));
    expect(received.map((m) => m.text)).toEqual([1, 2, 3, 4, 5].map((i) => `Update ${i} ${tag}`));
    const at = received.map((m) => Date.parse(m.acceptedAt));
    // The slots are PAIR_MS apart on Redis's clock; each send's own latency shifts its arrival (on a loaded
    // machine by over 150 ms), so one gap may shrink by up to half a slot. Unspaced, the gaps would be ~0.
    for (let i = 1; i < at.length; i++) expect(at[i]! - at[i - 1]!).toBeGreaterThanOrEqual(PAIR_MS / 2);
    expect(at[at.length - 1]! - at[0]!).toBeGreaterThanOrEqual((at.length - 1) * PAIR_MS - 100);
    for (const id of ids) expect((await detail(id)).attempts).toHaveLength(1);
  });

  it("a burst of WeChat's 5 messages within the window all go out (none counts against itself), the 6th is refused at the API", async () => {
    await providersBehave();
    const who = await customer('Zhang Min');
    const tag = uuidv7();
    const ids: string[] = [];
    for (let i = 1; i <= 5; i++) ids.push(await send(who.conversationId, { body: `Note ${i} ${tag}`, via: { identityId: who.identity.wechat }, fallback: [] }));
    const sixth = await call('POST', `/v1/conversations/${who.conversationId}/messages`, { type: 'text', body: `Note 6 ${tag}`, via: { identityId: who.identity.wechat }, fallback: [] });
    expect(sixth.status).toBe(422);
    expect(sixth.body.code).toBe('reachability.quota_exhausted');
    for (const id of ids) await until(id, (m) => expect(m).toMatchObject({ status: 'sent', channel: 'wechat' }));
    const received = (await sim.sent('wechat')).messages.filter((m) => m.text?.endsWith(tag));
    expect(received.map((m) => m.text)).toEqual([1, 2, 3, 4, 5].map((i) => `Note ${i} ${tag}`));
  });

  it("the workspace's default policy routes a reply that names no fallback", async () => {
    await providersBehave();
    const invalid = await call('PATCH', '/v1/workspace/settings', { fallbackChannels: ['pigeon'] });
    expect(invalid.status).toBe(400);
    expect(invalid.body.code).toBe('request.invalid');
    const set = await call('PATCH', '/v1/workspace/settings', { fallbackChannels: ['sms', 'email'] });
    expect(set.status, JSON.stringify(set.body)).toBe(200);
    expect(set.body).toEqual({ fallbackChannels: ['sms', 'email'] });
    expect((await call('GET', '/v1/workspace/settings')).body).toEqual({ fallbackChannels: ['sms', 'email'] });

    try {
      const who = await customer('Omar Haddad');
      // WhatsApp's own view: the customer last wrote 25 h ago (Ferry's record is out of date), so it answers 131047.
      await sim.user('whatsapp', { account: inbox.whatsapp.account, user: who.address.whatsapp, lastInboundAt: Date.now() - 25 * HOUR });
      const id = await send(who.conversationId, { body: `Your refund ${uuidv7()}`, via: { identityId: who.identity.whatsapp } });
      expect((await detail(id)).fallback).toEqual([who.identity.sms]);
      const message = await until(id, (m) => expect(m.status).toBe('delivered'));
      expect(message).toMatchObject({ channel: 'sms', identityId: who.identity.sms });
      expect(message.attempts.map((a) => [a.channel, a.status, a.fallbackReason])).toEqual([
        ['whatsapp', 'failed', 'provider_failed'],
        ['sms', 'sent', null],
      ]);
      expect(message.attempts[0]!.errorCode).toContain('131047');

      // `fallback: []` opts out: the same failure fails the message.
      const alone = await send(who.conversationId, { body: `No fallback ${uuidv7()}`, via: { identityId: who.identity.whatsapp }, fallback: [] });
      const failed = await until(alone, (m) => expect(m.status).toBe('failed'));
      expect(failed.errorCode).toContain('131047');
      expect(failed.attempts).toHaveLength(1);
    } finally {
      await call('PATCH', '/v1/workspace/settings', { fallbackChannels: [] });
    }
  });
});
