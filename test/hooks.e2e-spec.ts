import { createHash, createHmac } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { INestApplicationContext } from '@nestjs/common';
import pg from 'pg';
import twilio from 'twilio';
import { exampleChannelConfig } from '#channels';
import { uuidv7 } from '#domain';
import { InboundEventsService } from '#messaging';
import { QUEUE_NAMES, Queues } from '#queue';
import { ApiHarness, seedTenant, type SeededTenant } from '#testing';
import { Consumers } from '../apps/worker/src/consumers.js';
import { createLogger } from '../apps/worker/src/logger.js';
import { createWorker } from '../apps/worker/src/worker.js';

const PUBLIC_URL = 'https://ferry.example';

/** A WhatsApp Cloud API webhook body with one text message, as Meta posts it. */
function whatsappBody(phoneNumberId: string, wamid: string, text: string): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
              contacts: [{ profile: { name: 'Ana Souza' }, wa_id: '5511987654321' }],
              messages: [{ from: '5511987654321', id: wamid, timestamp: '1767225600', type: 'text', text: { body: text } }],
            },
          },
        ],
      },
    ],
  });
}

/** A WhatsApp Cloud API webhook body with one delivery receipt. */
function whatsappReceipt(phoneNumberId: string, wamid: string, status: string): string {
  return JSON.stringify({
    object: 'whatsapp_business_account',
    entry: [
      {
        id: '102290129340398',
        changes: [
          {
            field: 'messages',
            value: {
              messaging_product: 'whatsapp',
              metadata: { display_phone_number: '15550783881', phone_number_id: phoneNumberId },
              statuses: [{ id: wamid, status, timestamp: '1767225700', recipient_id: '5511987654321' }],
            },
          },
        ],
      },
    ],
  });
}

/**
 * The provider hooks over HTTP, with the real adapters: signatures computed here the way each
 * provider computes them, checked on the raw bytes; events stored once, with their job.
 */
describe('provider hooks', () => {
  let api: ApiHarness;
  let tenant: SeededTenant;
  let owner: pg.Client;
  const whatsapp = exampleChannelConfig('whatsapp');
  // Plain mode (the example has an EncodingAESKey: safe mode has its own tests beside the adapter).
  const { encodingAesKey: _safeMode, ...wechat } = exampleChannelConfig('wechat');
  const sms = exampleChannelConfig('sms');
  let whatsappInbox: string;
  let wechatInbox: string;
  let smsInbox: string;

  beforeAll(async () => {
    api = await ApiHarness.start({ PUBLIC_URL });
    tenant = await seedTenant(api.config, 'Hooks e2e');
    owner = new pg.Client({ connectionString: api.config.database.url });
    await owner.connect();
    const create = async (channel: 'whatsapp' | 'wechat' | 'sms', config: object): Promise<string> => {
      const response = await api.request('POST', '/v1/inboxes', { token: tenant.apiKey, body: { name: channel, channel, config } });
      expect(response.status, JSON.stringify(response.body)).toBe(201);
      expect(response.body.webhookUrl).toBe(`${PUBLIC_URL}/hooks/${channel}/${response.body.id}`);
      return response.body.id;
    };
    whatsappInbox = await create('whatsapp', whatsapp);
    wechatInbox = await create('wechat', wechat);
    smsInbox = await create('sms', sms);
  });
  afterAll(async () => {
    const queues = api ? api.app.get(Queues) : undefined;
    for (const name of QUEUE_NAMES) await queues?.get(name).obliterate({ force: true });
    await owner?.end();
    await api?.close();
  });

  const eventsOf = async (inboxId: string) =>
    (await owner.query('SELECT id, provider_event_id, kind FROM inbound_events WHERE inbox_id = $1 ORDER BY received_at', [inboxId])).rows;
  const jobsOf = async (eventId: string) => (await owner.query(`SELECT o.job_name FROM inbound_events e JOIN outbox o ON o.id = e.job_id WHERE e.id = $1`, [eventId])).rows;
  const signWhatsapp = (body: string) => `sha256=${createHmac('sha256', whatsapp.appSecret).update(body).digest('hex')}`;
  const postWhatsapp = (body: string, signature = signWhatsapp(body), inboxId = whatsappInbox) =>
    api.request('POST', `/hooks/whatsapp/${inboxId}`, { rawBody: body, headers: { 'content-type': 'application/json', 'x-hub-signature-256': signature } });

  it('stores a signed WhatsApp message with one job, answers 200, and a redelivery changes nothing', async () => {
    const wamid = `wamid.${uuidv7()}`;
    const body = whatsappBody(whatsapp.phoneNumberId, wamid, 'Olá! Is the 9am boat running?');
    const first = await postWhatsapp(body);
    expect(first.status, JSON.stringify(first.body)).toBe(200);
    const stored = (await eventsOf(whatsappInbox)).filter((row) => row.provider_event_id === wamid);
    expect(stored).toHaveLength(1);
    expect(stored[0].kind).toBe('message');
    expect(await jobsOf(stored[0].id)).toEqual([{ job_name: 'inbound.process' }]);

    const again = await postWhatsapp(body);
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    expect((await eventsOf(whatsappInbox)).filter((row) => row.provider_event_id === wamid)).toHaveLength(1);
    expect(await jobsOf(stored[0].id)).toHaveLength(1);

    // The worker's job turns it into the customer's conversation, visible through the API.
    expect(await api.app.get(InboundEventsService).process(tenant.workspaceId, stored[0].id)).toBe('processed');
    const contacts = await api.request('GET', `/v1/contacts?q=${encodeURIComponent('Ana Souza')}`, { token: tenant.apiKey });
    expect(contacts.body.data).toEqual([expect.objectContaining({ name: 'Ana Souza', phone: '+5511987654321' })]);
  });

  it('refuses a tampered body with 401 hook.invalid_signature and stores nothing', async () => {
    const wamid = `wamid.${uuidv7()}`;
    const body = whatsappBody(whatsapp.phoneNumberId, wamid, 'Pay 10 USD');
    const tampered = body.replace('10 USD', '99 USD');
    const before = (await eventsOf(whatsappInbox)).length;
    const response = await postWhatsapp(tampered, signWhatsapp(body));
    expect(response.status).toBe(401);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
    expect(response.body.code).toBe('hook.invalid_signature');
    // Bytes that are not even JSON are refused as unsigned too: nothing reads them before the signature check.
    expect((await postWhatsapp('{"object":', signWhatsapp(body))).body.code).toBe('hook.invalid_signature');
    expect((await postWhatsapp(body, 'sha256=00')).status).toBe(401);
    expect(await eventsOf(whatsappInbox)).toHaveLength(before);
  });

  it('answers a signed but unreadable payload with 400 hook.malformed and stores nothing', async () => {
    const before = (await eventsOf(whatsappInbox)).length;
    const body = JSON.stringify({ object: 'whatsapp_business_account', entry: 'nope' });
    const response = await postWhatsapp(body);
    expect(response.status).toBe(400);
    expect(response.body.code).toBe('hook.malformed');
    expect(await eventsOf(whatsappInbox)).toHaveLength(before);
  });

  it("answers Meta's GET verification with the challenge, and refuses a wrong verify token", async () => {
    const query = (token: string) => `hub.mode=subscribe&hub.verify_token=${encodeURIComponent(token)}&hub.challenge=1158201444`;
    const ok = await api.request('GET', `/hooks/whatsapp/${whatsappInbox}?${query(whatsapp.verifyToken)}`);
    expect(ok.status).toBe(200);
    expect(ok.headers.get('content-type')).toContain('text/plain');
    expect(ok.body).toBe(1158201444);
    const wrong = await api.request('GET', `/hooks/whatsapp/${whatsappInbox}?${query('guess')}`);
    expect(wrong.status).toBe(401);
    expect(wrong.body.code).toBe('hook.invalid_signature');
  });

  it('answers 404 inbox.not_found to an unknown inbox and to the wrong channel', async () => {
    const body = whatsappBody(whatsapp.phoneNumberId, `wamid.${uuidv7()}`, 'hi');
    for (const path of [`/hooks/whatsapp/${uuidv7()}`, `/hooks/whatsapp/not-a-uuid`, `/hooks/telegram/${whatsappInbox}`, `/hooks/fax/${whatsappInbox}`]) {
      const response = await api.request('POST', path, { rawBody: body, headers: { 'x-hub-signature-256': signWhatsapp(body) } });
      expect(response.status, path).toBe(404);
      expect(response.body.code, path).toBe('inbox.not_found');
    }
  });

  it('answers a WeChat XML push with `success` and stores it; echoes the server-URL handshake', async () => {
    const timestamp = '1767225600';
    const nonce = 'n0nce42';
    const signature = createHash('sha1').update([wechat.token, timestamp, nonce].sort().join('')).digest('hex');
    const msgId = '24500012345678901';
    const xml =
      '<xml><ToUserName><![CDATA[gh_3a5b1c2d4e6f]]></ToUserName><FromUserName><![CDATA[oUpF8uMuAJO_M2pxb1Q9zNjWeS6o]]></FromUserName>' +
      `<CreateTime>${timestamp}</CreateTime><MsgType><![CDATA[text]]></MsgType><Content><![CDATA[你好，船几点出发？]]></Content><MsgId>${msgId}</MsgId></xml>`;
    const path = `/hooks/wechat/${wechatInbox}?signature=${signature}&timestamp=${timestamp}&nonce=${nonce}&openid=oUpF8uMuAJO_M2pxb1Q9zNjWeS6o`;
    const push = await api.request('POST', path, { rawBody: xml, headers: { 'content-type': 'text/xml' } });
    expect(push.status, JSON.stringify(push.body)).toBe(200);
    expect(push.body).toBe('success');
    expect((await eventsOf(wechatInbox)).map((row) => row.provider_event_id)).toContain(msgId);

    const echo = await api.request('GET', `/hooks/wechat/${wechatInbox}?signature=${signature}&timestamp=${timestamp}&nonce=${nonce}&echostr=echo-5912`);
    expect(echo.status).toBe(200);
    expect(echo.body).toBe('echo-5912');
    const forged = await api.request('POST', path.replace(signature, '0'.repeat(40)), { rawBody: xml, headers: { 'content-type': 'text/xml' } });
    expect(forged.status).toBe(401);
  });

  it('checks a Twilio form post against the public URL it was sent to, query included', async () => {
    const messageSid = `SM${uuidv7().replace(/-/g, '')}`;
    const params = { AccountSid: sms.accountSid, MessageSid: messageSid, From: '+14155550123', To: '+14155550100', Body: 'Running late', NumMedia: '0' };
    const url = `${PUBLIC_URL}/hooks/sms/${smsInbox}?source=twilio`;
    const signature = twilio.getExpectedTwilioSignature(sms.authToken, url, params);
    const form = new URLSearchParams(params).toString();
    const response = await api.request('POST', `/hooks/sms/${smsInbox}?source=twilio`, {
      rawBody: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': signature },
    });
    expect(response.status, JSON.stringify(response.body)).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/xml');
    expect(String(response.body)).toContain('<Response>');
    expect((await eventsOf(smsInbox)).map((row) => row.provider_event_id)).toContain(messageSid);
    // Signed for another URL: refused.
    const elsewhere = twilio.getExpectedTwilioSignature(sms.authToken, `${PUBLIC_URL}/hooks/sms/${smsInbox}`, params);
    const refused = await api.request('POST', `/hooks/sms/${smsInbox}?source=twilio`, {
      rawBody: form,
      headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': elsewhere },
    });
    expect(refused.status).toBe(401);
  });

  it('keeps every other route as it was: /v1 still refuses XML and other non-JSON bodies with 415', async () => {
    for (const type of ['text/xml', 'application/xml', 'multipart/form-data; boundary=x', 'application/octet-stream']) {
      const response = await api.request('POST', '/v1/contacts', { token: tenant.apiKey, rawBody: '<x/>', headers: { 'content-type': type } });
      expect(response.status, type).toBe(415);
      expect(response.body.code, type).toBe('request.unsupported_media_type');
    }
    const json = await api.request('POST', '/v1/contacts', { token: tenant.apiKey, body: { name: 'Still JSON' } });
    expect(json.status).toBe(201);
  });

  describe('with the worker running', () => {
    let worker: INestApplicationContext;

    beforeAll(async () => {
      worker = await createWorker(api.config, createLogger('silent'));
      worker.get(Consumers).start();
    });
    afterAll(async () => worker?.close());

    const messageOf = async (wamid: string) =>
      (await owner.query('SELECT id, conversation_id, status, body FROM messages WHERE external_id = $1', [wamid])).rows[0];

    it('turns a hook call into the message of the customer, and its receipt into the status of our reply', async () => {
      const wamid = `wamid.${uuidv7()}`;
      expect((await postWhatsapp(whatsappBody(whatsapp.phoneNumberId, wamid, 'Two tickets please'))).status).toBe(200);
      await vi.waitFor(async () => expect(await messageOf(wamid)).toMatchObject({ body: 'Two tickets please', status: 'received' }), { timeout: 15_000 });

      // Our reply went out, but the provider's receipt beats our record of its id: it is retried, not lost.
      const { conversation_id: conversationId } = await messageOf(wamid);
      const replyId = uuidv7();
      await owner.query(
        `INSERT INTO messages (id, workspace_id, conversation_id, direction, body, status, inbox_id) VALUES ($1, $2, $3, 'out', 'Done!', 'queued', $4)`,
        [replyId, tenant.workspaceId, conversationId, whatsappInbox],
      );
      const replyWamid = `wamid.${uuidv7()}`;
      expect((await postWhatsapp(whatsappReceipt(whatsapp.phoneNumberId, replyWamid, 'delivered'))).status).toBe(200);
      const receiptRow = async () => (await owner.query('SELECT processed_at, error FROM inbound_events WHERE provider_event_id = $1', [`${replyWamid}:delivered`])).rows[0];
      await vi.waitFor(async () => expect((await receiptRow())?.error).toContain(replyWamid), { timeout: 15_000 });
      await owner.query(`UPDATE messages SET status = 'sent', external_id = $2 WHERE id = $1`, [replyId, replyWamid]);
      await vi.waitFor(async () => expect(await messageOf(replyWamid)).toMatchObject({ id: replyId, status: 'delivered' }), { timeout: 20_000 });
      expect(await receiptRow()).toMatchObject({ processed_at: expect.any(Date), error: null });
    });
  });

  it('documents the hooks as public operations under "provider hooks"', async () => {
    const document = (await api.request('GET', '/openapi.json')).body;
    const post = document.paths['/hooks/{channel}/{inboxId}'].post;
    expect(post.tags).toEqual(['provider hooks']);
    expect(post.security ?? []).toEqual([]);
    expect(post.responses['401'].content['application/problem+json']).toBeDefined();
    expect(document.paths['/hooks/{channel}/{inboxId}'].get.summary).toMatch(/verification/);
  });
});
