import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { INestApplicationContext } from '@nestjs/common';
import pg from 'pg';
import { exampleChannelConfig } from '#channels';
import { type Channel, type DomainError, uuidv7 } from '#domain';
import { MessagesService } from '#messaging';
import { QUEUE_NAMES, Queues } from '#queue';
import { type ApiHarness, type ApiResponse, seedTenant, type SeededTenant, type SimProvider, SimulatorHarness, startReachableApi, startWorker } from '#testing';

/**
 * Reachability end to end: the API and an in-process worker against real Postgres and Redis, the
 * providers played by the simulator. A send no identity can take now is refused at the API with
 * nothing written; a template goes out where free text may not; WeChat's 5 messages per window are
 * counted; the reachability endpoint reports the windows from inbound times set in the database;
 * WhatsApp templates are synced from the provider's template list.
 */

type InboxKey = 'whatsapp' | 'wechat' | 'sms' | 'line';

interface Inbox {
  id: string;
  channel: Channel;
  account: string;
}

const WAIT = { timeout: 20_000, interval: 50 };
const HOUR = 3_600_000;
const WABA_ID = '102290129340398';

let sequence = 0;
const digits = (width: number): string => `${Date.now() % 1e6}${String(++sequence).padStart(4, '0')}`.padStart(width, '0').slice(-width);
const wechatOpenId = (): string => `oRch${uuidv7().replace(/-/g, '').slice(0, 24)}`;

describe('reachability, refusal at the API, and templates, with the provider simulator', () => {
  let sim: SimulatorHarness;
  let api: ApiHarness;
  let worker: INestApplicationContext;
  let tenant: SeededTenant;
  let other: SeededTenant;
  let owner: pg.Client;
  const inboxes = {} as Record<InboxKey, Inbox>;

  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- bodies are asserted per test
  const call = <T = any>(method: string, path: string, body?: unknown, token = tenant.apiKey) =>
    api.request<T>(method, path, { token, ...(body === undefined ? {} : { body }) });

  beforeAll(async () => {
    sim = await SimulatorHarness.start();
    api = await startReachableApi({ ALLOW_PRIVATE_URLS: 'true', RATE_LIMIT_PER_MINUTE: '100000' });
    worker = await startWorker(api.config);
    tenant = await seedTenant(api.config, 'Reachability e2e');
    other = await seedTenant(api.config, 'Reachability e2e, other workspace');
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();

    const { encodingAesKey: _safeMode, ...wechatPlain } = exampleChannelConfig('wechat');
    const configs: Record<InboxKey, Record<string, unknown>> = {
      whatsapp: { ...exampleChannelConfig('whatsapp'), businessAccountId: WABA_ID, apiBaseUrl: `${sim.baseUrl}/v21.0` },
      wechat: { ...wechatPlain, appId: 'wx00reach0000000e2e', apiBaseUrl: sim.baseUrl },
      sms: { ...exampleChannelConfig('sms'), apiBaseUrl: sim.baseUrl, sendRatePerSecond: 100 },
      line: { ...exampleChannelConfig('line'), apiBaseUrl: sim.baseUrl },
    };
    for (const [key, config] of Object.entries(configs) as Array<[InboxKey, Record<string, unknown>]>) {
      const created = await call('POST', '/v1/inboxes', { name: `${key} reachability`, channel: key, config });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      const account = await sim.registerAccount({ channel: key, ...config, hookUrl: created.body.webhookUrl });
      inboxes[key] = { id: created.body.id, channel: key, account: account.id };
    }
  });

  afterAll(async () => {
    await worker?.close();
    const queues = api?.app.get(Queues);
    for (const name of QUEUE_NAMES) await queues?.get(name).obliterate({ force: true });
    await owner?.end();
    await api?.close();
    await sim?.close();
  });

  function expectProblem(response: ApiResponse, status: number, code: string): void {
    expect(response.status, JSON.stringify(response.body)).toBe(status);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body).toMatchObject({ status, code });
  }

  /** Messages and send jobs of the workspace (receipts arriving meanwhile write jobs of their own): a refused send leaves these as they were. */
  async function written(): Promise<{ messages: number; outbox: number }> {
    const { rows } = await owner.query(
      `SELECT (SELECT count(*)::int FROM messages WHERE workspace_id = $1) AS messages,
              (SELECT count(*)::int FROM outbox WHERE workspace_id = $1 AND job_name = 'message.send') AS outbox`,
      [tenant.workspaceId],
    );
    return rows[0];
  }

  /** The customer writes through the simulator; answers the stored message's conversation, contact and identity. */
  async function customerWrites(key: InboxKey, message: Record<string, unknown>): Promise<{ conversationId: string; contactId: string; identityId: string }> {
    const text = `${String(message['text'] ?? 'Hello')} ${uuidv7()}`;
    const result = await sim.inbound(key as SimProvider, { account: inboxes[key].account, message: { ...message, text } });
    expect(result.status, JSON.stringify(result.body)).toBe(200);
    return vi.waitFor(async () => {
      const { rows } = await owner.query(
        `SELECT m.conversation_id AS "conversationId", c.contact_id AS "contactId", m.identity_id AS "identityId"
         FROM messages m JOIN conversations c ON c.id = m.conversation_id
         WHERE m.workspace_id = $1 AND m.direction = 'in' AND m.body = $2`,
        [tenant.workspaceId, text],
      );
      expect(rows).toHaveLength(1);
      return rows[0];
    }, WAIT);
  }

  /** Moves the customer's last message on the identity to `msAgo` before the database's now; answers that instant. */
  async function lastWrote(identityId: string, msAgo: number): Promise<Date> {
    const { rows } = await owner.query(
      `UPDATE contact_identities SET last_inbound_at = now() - make_interval(secs => $2::double precision / 1000)
       WHERE id = $1 RETURNING last_inbound_at AS at`,
      [identityId, msAgo],
    );
    return rows[0].at;
  }

  const send = (conversationId: string, body: Record<string, unknown>) => call('POST', `/v1/conversations/${conversationId}/messages`, body);

  async function settled(id: string): Promise<{ status: string; errorCode: string | null }> {
    return vi.waitFor(async () => {
      const response = await call('GET', `/v1/messages/${id}`);
      expect(response.status).toBe(200);
      expect(response.body.status).not.toBe('queued');
      return response.body;
    }, WAIT);
  }

  describe('WhatsApp outside its 24 h window', () => {
    let thread: { conversationId: string; contactId: string; identityId: string };
    let waId: string;

    beforeAll(async () => {
      const phone = `+1555${digits(7)}`;
      waId = phone.slice(1);
      thread = await customerWrites('whatsapp', { from: phone, name: 'Ana Souza', text: 'Is the boat running?' });
      // The customer last wrote 25 hours ago, as far as Ferry and WhatsApp know.
      await lastWrote(thread.identityId, 25 * HOUR);
      await sim.user('whatsapp', { account: inboxes.whatsapp.account, user: waId, lastInboundAt: Date.now() - 25 * HOUR });
      expect((await call('POST', `/v1/inboxes/${inboxes.whatsapp.id}/templates/sync`)).status).toBe(200);
    });

    it('refuses free text with 422 reachability.window_closed, says until when and what to do, and writes nothing', async () => {
      const before = await written();
      const lastInbound: Date = (await owner.query('SELECT last_inbound_at AS at FROM contact_identities WHERE id = $1', [thread.identityId])).rows[0].at;
      const refused = await send(thread.conversationId, { type: 'text', body: 'Are you still interested?' });
      expectProblem(refused, 422, 'reachability.window_closed');
      expect(refused.body.detail).toContain(new Date(lastInbound.getTime() + 24 * HOUR).toISOString());
      expect(refused.body.detail).toContain('template');
      expect(refused.body.detail).toContain('another identity');
      expect(await written()).toEqual(before);
      expect((await sim.sent('whatsapp')).messages.filter((m) => m.to === waId)).toEqual([]);
    });

    it('accepts an approved template (202), stores its filled-in text, and WhatsApp delivers it once', async () => {
      const accepted = await send(thread.conversationId, { type: 'template', template: { name: 'booking_reminder', language: 'en_US', parameters: ['Ana', 'Friday'] } });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      expect(accepted.body).toMatchObject({
        status: 'queued',
        type: 'template',
        channel: 'whatsapp',
        identityId: thread.identityId,
        body: 'Hi Ana, a reminder that your tour starts on Friday. Reply here if anything changed.',
        template: { name: 'booking_reminder', language: 'en_US', parameters: ['Ana', 'Friday'] },
      });
      const message = await settled(accepted.body.id);
      expect(['sent', 'delivered', 'read']).toContain(message.status);
      const sent = (await sim.sent('whatsapp')).messages.filter((m) => m.ferryMessageId === accepted.body.id);
      expect(sent).toHaveLength(1);
      expect(sent[0]).toMatchObject({ type: 'template', to: waId, deliveryCount: 1 });
      expect(sent[0]!.request).toMatchObject({
        template: { name: 'booking_reminder', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Ana' }, { type: 'text', text: 'Friday' }] }] },
      });
    });

    it('refuses a template that is not an approved one of the inbox, or has the wrong parameters (400), writing nothing', async () => {
      const before = await written();
      const template = (name: string, language: string, parameters: string[]) => send(thread.conversationId, { type: 'template', template: { name, language, parameters } });
      expectProblem(await template('no_such_template', 'en_US', []), 400, 'template.not_found');
      expectProblem(await template('booking_reminder', 'de_DE', ['Ana', 'Friday']), 400, 'template.not_found');
      expectProblem(await template('seasonal_offer', 'en_US', ['Ana', 'summer']), 400, 'template.not_found'); // pending at WhatsApp
      const wrong = await template('booking_reminder', 'en_US', ['Ana']);
      expectProblem(wrong, 400, 'template.invalid_parameters');
      expect(wrong.body.errors).toEqual([{ field: 'template.parameters', message: 'must have exactly 2 values (got 1)' }]);
      expect(await written()).toEqual(before);
    });

    it('accepts free text when a fallback identity can take it now, keeping the route on the message', async () => {
      const sms = await call('POST', `/v1/contacts/${thread.contactId}/identities`, { inboxId: inboxes.sms.id, externalId: `+1415${digits(7)}` });
      expect(sms.status, JSON.stringify(sms.body)).toBe(201);
      const before = await written();
      const accepted = await send(thread.conversationId, { type: 'text', body: 'Your pickup moved to 9:30.', via: { identityId: thread.identityId }, fallback: [sms.body.id] });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      expect(accepted.body).toMatchObject({ identityId: thread.identityId, channel: 'whatsapp', fallback: [sms.body.id] });
      expect(await written()).toEqual({ messages: before.messages + 1, outbox: before.outbox + 1 });

      // The fallback unsubscribed too: nothing can take it, and the first identity's reason is given.
      await owner.query('UPDATE contact_identities SET unsubscribed_at = now() WHERE id = $1', [sms.body.id]);
      const refused = await send(thread.conversationId, { type: 'text', body: 'Anyone?', via: { identityId: thread.identityId }, fallback: [sms.body.id] });
      expectProblem(refused, 422, 'reachability.window_closed');
      const direct = await send(thread.conversationId, { type: 'text', body: 'By SMS?', via: { identityId: sms.body.id } });
      expectProblem(direct, 422, 'reachability.unsubscribed');
      expect(direct.body.detail).toContain('another identity');
      await owner.query('UPDATE contact_identities SET unsubscribed_at = NULL WHERE id = $1', [sms.body.id]);
    });

    it('lets free text through again once the customer writes', async () => {
      await sim.inbound('whatsapp', { account: inboxes.whatsapp.account, message: { from: `+${waId}`, text: `Back again ${uuidv7()}` } });
      await vi.waitFor(async () => {
        const reachability = await call('GET', `/v1/contacts/${thread.contactId}/reachability`);
        expect(reachability.body.identities.find((i: { identityId: string }) => i.identityId === thread.identityId)).toMatchObject({ canSendFreeForm: true, reason: null });
      }, WAIT);
      const accepted = await send(thread.conversationId, { type: 'text', body: 'Welcome back!', via: { identityId: thread.identityId } });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
    });
  });

  describe('WeChat: 5 customer-service messages per 48 h window', () => {
    it('accepts 5 messages after the customer writes and refuses the 6th with 422 reachability.quota_exhausted; the count restarts when they write again', async () => {
      const openId = wechatOpenId();
      const thread = await customerWrites('wechat', { from: openId, text: '你好' });
      const ids: string[] = [];
      for (let n = 1; n <= 5; n++) {
        const accepted = await send(thread.conversationId, { type: 'text', body: `Reply ${n} of 5` });
        expect(accepted.status, `message ${n}: ${JSON.stringify(accepted.body)}`).toBe(202);
        ids.push(accepted.body.id);
      }
      const before = await written();
      const sixth = await send(thread.conversationId, { type: 'text', body: 'Reply 6' });
      expectProblem(sixth, 422, 'reachability.quota_exhausted');
      expect(sixth.body.detail).toContain('5 messages within 48 hours');
      expect(await written()).toEqual(before);

      const reachability = await call('GET', `/v1/contacts/${thread.contactId}/reachability`);
      expect(reachability.body.identities).toEqual([
        expect.objectContaining({ identityId: thread.identityId, channel: 'wechat', canSendFreeForm: false, remaining: 0, templatesAllowed: false, reason: 'reachability.quota_exhausted' }),
      ]);

      // The five leave, and WeChat takes all five (its own count agrees: none was refused with 45015).
      for (const id of ids) expect(await settled(id)).toMatchObject({ status: 'sent', errorCode: null });
      expect((await sim.sent('wechat')).messages.filter((m) => m.to === openId)).toHaveLength(5);

      await customerWrites('wechat', { from: openId, text: 'One more question' });
      const again = await send(thread.conversationId, { type: 'text', body: 'Reply after the customer wrote again' });
      expect(again.status, JSON.stringify(again.body)).toBe(202);
    });

    it('counts concurrent sends against each other: of 8 at once, exactly 5 are accepted', async () => {
      const thread = await customerWrites('wechat', { from: wechatOpenId(), text: 'Quick question' });
      const answers = await Promise.all(Array.from({ length: 8 }, (_, n) => send(thread.conversationId, { type: 'text', body: `Burst ${n}` })));
      expect(answers.filter((a) => a.status === 202)).toHaveLength(5);
      expect(answers.filter((a) => a.status === 422).map((a) => a.body.code)).toEqual(Array(3).fill('reachability.quota_exhausted'));
      const { rows } = await owner.query(`SELECT count(*)::int AS n FROM messages WHERE conversation_id = $1 AND direction = 'out'`, [thread.conversationId]);
      expect(rows[0].n).toBe(5);
    });
  });

  describe('GET /v1/contacts/{id}/reachability', () => {
    let contactId: string;
    const identity = {} as Record<'whatsapp' | 'wechat' | 'sms' | 'line', string>;

    beforeAll(async () => {
      const contact = await call('POST', '/v1/contacts', { name: 'Kenji Watanabe' });
      contactId = contact.body.id;
      const externalIds: Record<keyof typeof identity, string> = { whatsapp: `1555${digits(7)}`, wechat: wechatOpenId(), sms: `+1415${digits(7)}`, line: `U${uuidv7().replace(/-/g, '')}` };
      for (const key of Object.keys(externalIds) as Array<keyof typeof identity>) {
        const created = await call('POST', `/v1/contacts/${contactId}/identities`, { inboxId: inboxes[key].id, externalId: externalIds[key] });
        expect(created.status, JSON.stringify(created.body)).toBe(201);
        identity[key] = created.body.id;
      }
    });

    // eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test asserts the fields it expects
    type ByChannel = Record<keyof typeof identity, any> & { defaultIdentityId: string | null };
    const reachabilityOf = async (): Promise<ByChannel> => {
      const response = await call('GET', `/v1/contacts/${contactId}/reachability`);
      expect(response.status, JSON.stringify(response.body)).toBe(200);
      const byChannel = Object.fromEntries(response.body.identities.map((i: { channel: string }) => [i.channel, i]));
      return { defaultIdentityId: response.body.defaultIdentityId, ...byChannel } as ByChannel;
    };

    it('reports every identity of a contact who never wrote: only the windowless channels take free text', async () => {
      const r = await reachabilityOf();
      expect(r.whatsapp).toEqual({
        identityId: identity.whatsapp, channel: 'whatsapp', inboxId: inboxes.whatsapp.id, externalId: expect.any(String), lastInboundAt: null,
        canSendFreeForm: false, freeFormUntil: null, remaining: 0, templatesAllowed: true, replyTokenUntil: null, reason: 'reachability.window_closed',
      });
      expect(r.wechat).toMatchObject({ canSendFreeForm: false, freeFormUntil: null, remaining: 0, templatesAllowed: false, reason: 'reachability.window_closed' });
      expect(r.sms).toMatchObject({ canSendFreeForm: true, freeFormUntil: null, remaining: null, templatesAllowed: true, reason: null });
      expect(r.line).toMatchObject({ canSendFreeForm: true, freeFormUntil: null, remaining: null, replyTokenUntil: null, reason: null });
      // Nobody wrote: the newest identity is the default.
      expect(r.defaultIdentityId).toBe(identity.line);
    });

    it('opens WhatsApp until exactly 24 h after the last inbound, and closes it past that', async () => {
      const inside = await lastWrote(identity.whatsapp, 24 * HOUR - 60_000);
      expect((await reachabilityOf()).whatsapp).toMatchObject({
        lastInboundAt: inside.toISOString(),
        canSendFreeForm: true,
        freeFormUntil: new Date(inside.getTime() + 24 * HOUR).toISOString(),
        remaining: null,
        templatesAllowed: true,
        reason: null,
      });
      const outside = await lastWrote(identity.whatsapp, 24 * HOUR + 1000);
      expect((await reachabilityOf()).whatsapp).toMatchObject({
        canSendFreeForm: false,
        freeFormUntil: new Date(outside.getTime() + 24 * HOUR).toISOString(),
        remaining: 0,
        templatesAllowed: true,
        reason: 'reachability.window_closed',
      });
    });

    it('opens WeChat for 48 h with 5 messages, counting those sent since the customer wrote', async () => {
      // WeChat's own count agrees (so the worker's sends are taken, not failed, and keep counting).
      const openId = (await owner.query('SELECT external_id AS id FROM contact_identities WHERE id = $1', [identity.wechat])).rows[0].id;
      await sim.user('wechat', { account: inboxes.wechat.account, user: openId, lastInboundAt: Date.now() });
      const inside = await lastWrote(identity.wechat, 48 * HOUR - 60_000);
      expect((await reachabilityOf()).wechat).toMatchObject({ canSendFreeForm: true, freeFormUntil: new Date(inside.getTime() + 48 * HOUR).toISOString(), remaining: 5, templatesAllowed: true });
      const conversation = await call('POST', '/v1/conversations', { contactId });
      expect(conversation.status, JSON.stringify(conversation.body)).toBe(201);
      for (const body of ['First', 'Second']) {
        expect((await send(conversation.body.id, { type: 'text', body, via: { identityId: identity.wechat } })).status).toBe(202);
      }
      expect((await reachabilityOf()).wechat).toMatchObject({ canSendFreeForm: true, remaining: 3 });
      // Messages sent before the customer's last message do not count.
      await lastWrote(identity.wechat, 0);
      expect((await reachabilityOf()).wechat).toMatchObject({ canSendFreeForm: true, remaining: 5 });
      const outside = await lastWrote(identity.wechat, 48 * HOUR + 1000);
      expect((await reachabilityOf()).wechat).toMatchObject({
        canSendFreeForm: false,
        freeFormUntil: new Date(outside.getTime() + 48 * HOUR).toISOString(),
        remaining: 0,
        templatesAllowed: false,
        reason: 'reachability.window_closed',
      });
    });

    it("reports LINE's reply token while it is fresh, and the channel the customer last wrote on as the default", async () => {
      const { rows } = await owner.query(
        `UPDATE contact_identities SET reply_token = 'rt-1', reply_token_expires_at = now() + interval '50 seconds', last_inbound_at = now()
         WHERE id = $1 RETURNING reply_token_expires_at AS until`,
        [identity.line],
      );
      const fresh = await reachabilityOf();
      expect(fresh.line).toMatchObject({ canSendFreeForm: true, replyTokenUntil: rows[0].until.toISOString() });
      expect(fresh.defaultIdentityId).toBe(identity.line);
      await owner.query(`UPDATE contact_identities SET reply_token_expires_at = now() - interval '1 second' WHERE id = $1`, [identity.line]);
      expect((await reachabilityOf()).line).toMatchObject({ canSendFreeForm: true, replyTokenUntil: null });
      await lastWrote(identity.sms, 0);
      expect((await reachabilityOf()).defaultIdentityId).toBe(identity.sms);
    });

    it('reports an unsubscribed identity as unreachable', async () => {
      await owner.query('UPDATE contact_identities SET unsubscribed_at = now() WHERE id = $1', [identity.sms]);
      expect((await reachabilityOf()).sms).toMatchObject({ canSendFreeForm: false, templatesAllowed: false, remaining: 0, reason: 'reachability.unsubscribed' });
      await owner.query('UPDATE contact_identities SET unsubscribed_at = NULL WHERE id = $1', [identity.sms]);
    });

    it("answers 404 for an unknown, malformed or other workspace's contact", async () => {
      expectProblem(await call('GET', `/v1/contacts/${uuidv7()}/reachability`), 404, 'contact.not_found');
      expectProblem(await call('GET', '/v1/contacts/not-a-uuid/reachability'), 404, 'contact.not_found');
      expectProblem(await call('GET', `/v1/contacts/${contactId}/reachability`, undefined, other.apiKey), 404, 'contact.not_found');
    });
  });

  describe('templates', () => {
    it("syncs the WhatsApp inbox's templates from the provider: statuses mapped, provider ones replaced on the next sync", async () => {
      const inbox = await call('POST', '/v1/inboxes', {
        name: 'WhatsApp sync',
        channel: 'whatsapp',
        config: { ...exampleChannelConfig('whatsapp'), phoneNumberId: '900000000000001', accessToken: 'EAAsync-token', businessAccountId: '900000000000009', apiBaseUrl: `${sim.baseUrl}/v21.0` },
      });
      expect(inbox.status, JSON.stringify(inbox.body)).toBe(201);
      const account = await sim.registerAccount({ channel: 'whatsapp', ...exampleChannelConfig('whatsapp'), phoneNumberId: '900000000000001', accessToken: 'EAAsync-token', businessAccountId: '900000000000009' });
      const path = `/v1/inboxes/${inbox.body.id}/templates`;

      const manual = await call('POST', path, { name: 'handwritten', language: 'en_US', body: 'Thanks {{1}}!' });
      expect(manual.status, JSON.stringify(manual.body)).toBe(201);

      const first = await call('POST', `${path}/sync`);
      expect(first.status, JSON.stringify(first.body)).toBe(200);
      expect(first.body).toMatchObject({ synced: 6, removed: 0, syncedAt: expect.any(String) });
      const listed = await call('GET', `${path}?limit=100`);
      expect(listed.body.data.map((t: { name: string; language: string; status: string; source: string }) => `${t.name}/${t.language}/${t.status}/${t.source}`)).toEqual([
        'booking_reminder/en_US/approved/provider',
        'booking_reminder/pt_BR/approved/provider',
        'booking_update/en_US/approved/provider',
        'handwritten/en_US/approved/manual',
        'hello_world/en_US/approved/provider',
        'old_promo/en_US/rejected/provider',
        'seasonal_offer/en_US/pending/provider',
      ]);
      const reminder = listed.body.data[0];
      expect(reminder).toMatchObject({
        inboxId: inbox.body.id,
        category: 'utility',
        body: 'Hi {{1}}, a reminder that your tour starts on {{2}}. Reply here if anything changed.',
        parameterCount: 2,
        components: [{ type: 'BODY', text: reminder.body }],
        providerTemplateId: expect.any(String),
        syncedAt: first.body.syncedAt,
      });
      const approved = await call('GET', `${path}?status=approved&limit=2`);
      expect(approved.body.data).toHaveLength(2);
      expect(approved.body.nextCursor).toEqual(expect.any(String));
      const rest = await call('GET', `${path}?status=approved&limit=100&cursor=${encodeURIComponent(approved.body.nextCursor)}`);
      expect([...approved.body.data, ...rest.body.data].map((t: { name: string }) => t.name)).toEqual(['booking_reminder', 'booking_reminder', 'booking_update', 'handwritten', 'hello_world']);

      // A synced template is changed at the provider, not here.
      expectProblem(await call('PATCH', `${path}/${reminder.id}`, { body: 'Changed {{1}} {{2}}' }), 409, 'template.provider_managed');

      // WhatsApp approves seasonal_offer and drops everything else: the next sync follows.
      await sim.call('POST', '/_sim/whatsapp/templates', { account: account.id, templates: [{ name: 'seasonal_offer', language: 'en_US', status: 'APPROVED', category: 'MARKETING', body: 'Hi {{1}}, {{2}} tours are open.' }] });
      const second = await call('POST', `${path}/sync`);
      expect(second.body).toMatchObject({ synced: 1, removed: 5 });
      const after = await call('GET', `${path}?limit=100`);
      expect(after.body.data.map((t: { name: string; status: string; category: string }) => `${t.name}/${t.status}/${t.category}`)).toEqual([
        'handwritten/approved/null',
        'seasonal_offer/approved/marketing',
      ]);
    });

    it('answers 409 templates.not_syncable for a channel without a template API or a WhatsApp inbox without businessAccountId, 422 when WhatsApp refuses', async () => {
      expectProblem(await call('POST', `/v1/inboxes/${inboxes.wechat.id}/templates/sync`), 409, 'templates.not_syncable');
      const bare = await call('POST', '/v1/inboxes', { name: 'WA no WABA', channel: 'whatsapp', config: { ...exampleChannelConfig('whatsapp'), businessAccountId: undefined, apiBaseUrl: `${sim.baseUrl}/v21.0` } });
      expect(bare.status, JSON.stringify(bare.body)).toBe(201);
      const noWaba = await call('POST', `/v1/inboxes/${bare.body.id}/templates/sync`);
      expectProblem(noWaba, 409, 'templates.not_syncable');
      expect(noWaba.body.detail).toContain('businessAccountId');
      const wrong = await call('PATCH', `/v1/inboxes/${bare.body.id}`, { config: { businessAccountId: '111' } });
      expect(wrong.status, JSON.stringify(wrong.body)).toBe(200);
      const refused = await call('POST', `/v1/inboxes/${bare.body.id}/templates/sync`);
      expectProblem(refused, 422, 'templates.sync_failed');
      expect(refused.body.detail).toContain("Object with ID '111' does not exist");
      expectProblem(await call('POST', `/v1/inboxes/${uuidv7()}/templates/sync`), 404, 'inbox.not_found');
      expectProblem(await call('POST', `/v1/inboxes/${inboxes.whatsapp.id}/templates/sync`, undefined, other.apiKey), 404, 'inbox.not_found');
    });

    it('keeps manual templates on any inbox, and a template send on SMS goes out as its filled-in text', async () => {
      const path = `/v1/inboxes/${inboxes.sms.id}/templates`;
      const created = await call('POST', path, { name: 'pickup_time', language: 'en', category: 'utility', body: 'Hi {{1}}, pickup is at {{2}}.' });
      expect(created.status, JSON.stringify(created.body)).toBe(201);
      expect(created.body).toMatchObject({ source: 'manual', status: 'approved', parameterCount: 2, components: [], syncedAt: null, providerTemplateId: null });

      expectProblem(await call('POST', path, { name: 'pickup_time', language: 'en', body: 'Again {{1}}' }), 409, 'template.name_taken');
      const gap = await call('POST', path, { name: 'gappy', language: 'en', body: 'Hi {{1}}, {{3}}' });
      expectProblem(gap, 400, 'request.invalid');
      expect(gap.body.errors).toEqual([{ field: 'body', message: expect.stringContaining('{{2}} is missing') }]);
      expectProblem(await call('POST', path, { name: 'Bad Name', language: 'en', body: 'x' }), 400, 'request.invalid');
      expectProblem(await call('POST', `/v1/inboxes/${inboxes.sms.id}/templates`, { name: 'theirs', language: 'en', body: 'x' }, other.apiKey), 404, 'inbox.not_found');

      const patched = await call('PATCH', `${path}/${created.body.id}`, { body: 'Hi {{1}}, pickup is at {{2}} at {{3}}.' });
      expect(patched.status, JSON.stringify(patched.body)).toBe(200);
      expect(patched.body).toMatchObject({ parameterCount: 3 });

      const phone = `+1415${digits(7)}`;
      const thread = await customerWrites('sms', { from: phone, text: 'When is pickup?' });
      const accepted = await send(thread.conversationId, { type: 'template', template: { name: 'pickup_time', language: 'en', parameters: ['Kenji', '9:30', 'the Riverside Hotel'] } });
      expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
      expect(accepted.body.body).toBe('Hi Kenji, pickup is at 9:30 at the Riverside Hotel.');
      expect(await settled(accepted.body.id)).toMatchObject({ errorCode: null });
      const texts = (await sim.sent('sms')).messages.filter((m) => m.to === phone).map((m) => m.text);
      expect(texts).toEqual(['Hi Kenji, pickup is at 9:30 at the Riverside Hotel.']);

      expect((await call('DELETE', `${path}/${created.body.id}`)).status).toBe(204);
      expectProblem(await call('DELETE', `${path}/${created.body.id}`), 404, 'template.not_found');
      const gone = await send(thread.conversationId, { type: 'template', template: { name: 'pickup_time', language: 'en', parameters: ['Kenji', '9:30', 'x'] } });
      expectProblem(gone, 400, 'template.not_found');
    });
  });
  describe('replies posted at the same moment', () => {
    it('are written together in one transaction, each decided as if alone, and each delivered in order', async () => {
      const anaPhone = `+1555${digits(7)}`;
      const ana = await customerWrites('whatsapp', { from: anaPhone, name: 'Ana', text: 'Two questions' });
      const kenjiPhone = `+1415${digits(7)}`;
      const kenji = await customerWrites('sms', { from: kenjiPhone, text: 'Pickup?' });
      const late = await customerWrites('whatsapp', { from: `+1555${digits(7)}`, name: 'Late', text: 'Hello' });
      await lastWrote(late.identityId, 25 * HOUR);
      const before = await written();

      // Posted in one tick: the first finds the workspace idle and is written at once, the rest share the next transaction.
      const messages = api.app.get(MessagesService);
      const post = (conversationId: string, body: string) => messages.post(tenant.workspaceId, conversationId, null, { type: 'text', body });
      const results = await Promise.allSettled([
        post(ana.conversationId, 'First answer'),
        post(ana.conversationId, 'Second answer'),
        post(kenji.conversationId, 'Pickup is at 9:30'),
        post(late.conversationId, 'Too late for free text'),
        post(uuidv7(), 'Nobody'),
        post(ana.conversationId, '   '),
        post(ana.conversationId, 'Third answer'),
      ]);
      const refusals = results.map((result) => (result.status === 'rejected' ? (result.reason as DomainError).code : null));
      expect(refusals).toEqual([null, null, null, 'reachability.window_closed', 'conversation.not_found', 'request.invalid', null]);
      const accepted = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      expect(accepted.map((message) => [message.conversationId, message.body, message.status])).toEqual([
        [ana.conversationId, 'First answer', 'queued'],
        [ana.conversationId, 'Second answer', 'queued'],
        [kenji.conversationId, 'Pickup is at 9:30', 'queued'],
        [ana.conversationId, 'Third answer', 'queued'],
      ]);
      expect(accepted.map((message) => message.channel)).toEqual(['whatsapp', 'whatsapp', 'sms', 'whatsapp']);
      // Each accepted reply has its own send job; the refused ones wrote nothing.
      expect(await written()).toEqual({ messages: before.messages + 4, outbox: before.outbox + 4 });
      const { rows } = await owner.query(`SELECT xmin::text AS tx FROM messages WHERE id = ANY($1::uuid[]) ORDER BY id`, [accepted.map((m) => m.id)]);
      expect(new Set(rows.slice(1).map((row) => row.tx)).size).toBe(1);
      expect(rows[0].tx).not.toBe(rows[1].tx);

      for (const message of accepted) expect(await settled(message.id)).toMatchObject({ errorCode: null });
      const toAna = (await sim.sent('whatsapp')).messages.filter((m) => m.to === anaPhone.slice(1)).map((m) => m.text);
      expect(toAna).toEqual(['First answer', 'Second answer', 'Third answer']);
      expect((await sim.sent('sms')).messages.filter((m) => m.to === kenjiPhone).map((m) => m.text)).toEqual(['Pickup is at 9:30']);
    });
  });
});
