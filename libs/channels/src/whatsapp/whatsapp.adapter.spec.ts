import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '#domain';
import type { HookRequest, OutboundMessage } from '../channel-adapter.js';
import type { WhatsappConfig } from '../config/channel-configs.js';
import { type FakeProvider, sendContext, startFakeProvider } from '../fake-provider-server.js';
import { WhatsappAdapter } from './whatsapp.adapter.js';

const adapter = new WhatsappAdapter();
const config: WhatsappConfig = { phoneNumberId: '106540352242922', accessToken: 'EAAG-token', appSecret: 'app-secret-1', verifyToken: 'verify-me' };

function post(body: unknown, secret = config.appSecret, headers: Record<string, string | undefined> = {}): HookRequest {
  const rawBody = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const signature = `sha256=${createHmac('sha256', secret).update(rawBody).digest('hex')}`;
  return { method: 'POST', url: 'https://ferry.example/hooks/whatsapp/i1', query: {}, headers: { 'x-hub-signature-256': signature, ...headers }, rawBody, receivedAt: new Date('2026-03-01T12:00:00Z') };
}

function hook(value: Record<string, unknown>): Record<string, unknown> {
  return {
    object: 'whatsapp_business_account',
    entry: [{ id: 'waba-1', changes: [{ field: 'messages', value: { messaging_product: 'whatsapp', metadata: { display_phone_number: '15550001111', phone_number_id: config.phoneNumberId }, ...value } }] }],
  };
}

const alice = { profile: { name: 'Alice' }, wa_id: '14155550123', user_id: 'US.13491208655302741918' };
const message = (fields: Record<string, unknown>) => ({ from: '14155550123', id: 'wamid.A1', timestamp: '1772366400', ...fields });

async function parse(body: unknown) {
  return (await adapter.parse(post(body), config)).events;
}

async function malformedReason(body: unknown): Promise<string> {
  const error = await adapter.parse(post(body), config).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(DomainError);
  expect(error).toMatchObject({ code: 'hook.malformed', kind: 'invalid' });
  return (error as DomainError).message;
}

describe('WhatsappAdapter.verify', () => {
  const get = (query: Record<string, string>): HookRequest => ({ method: 'GET', url: 'https://ferry.example/hooks/whatsapp/i1', query, headers: {}, rawBody: Buffer.alloc(0), receivedAt: new Date() });

  it('answers the subscription handshake with the challenge as text', () => {
    expect(adapter.verify(get({ 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me', 'hub.challenge': '1158201444' }), config)).toEqual({
      kind: 'handshake',
      reply: { status: 200, contentType: 'text/plain', body: '1158201444' },
    });
  });

  it.each([
    { 'hub.mode': 'subscribe', 'hub.verify_token': 'wrong', 'hub.challenge': '1' },
    { 'hub.mode': 'unsubscribe', 'hub.verify_token': 'verify-me', 'hub.challenge': '1' },
    { 'hub.mode': 'subscribe', 'hub.challenge': '1' },
    { 'hub.mode': 'subscribe', 'hub.verify_token': 'verify-me' },
  ] as Array<Record<string, string>>)('rejects a handshake that does not match: %o', (query) => {
    expect(adapter.verify(get(query), config)).toMatchObject({ kind: 'rejected', code: 'hook.invalid_signature' });
  });

  it('accepts a body signed with the app secret', () => {
    expect(adapter.verify(post(hook({ messages: [] })), config)).toEqual({ kind: 'verified' });
  });

  it('accepts an upper-case hex signature', () => {
    const request = post(hook({}));
    request.headers['x-hub-signature-256'] = request.headers['x-hub-signature-256']!.replace(/^sha256=/, '').toUpperCase().replace(/^/, 'sha256=');
    expect(adapter.verify(request, config)).toEqual({ kind: 'verified' });
  });

  it('rejects a tampered body', () => {
    const request = post(hook({ messages: [message({ type: 'text', text: { body: 'hi' } })] }));
    request.rawBody = Buffer.from(request.rawBody.toString().replace('hi', 'ho'));
    expect(adapter.verify(request, config)).toMatchObject({ kind: 'rejected', code: 'hook.invalid_signature' });
  });

  it('rejects a body signed with another secret, and a missing or malformed header', () => {
    expect(adapter.verify(post(hook({}), 'other-secret'), config)).toMatchObject({ kind: 'rejected', code: 'hook.invalid_signature' });
    expect(adapter.verify(post(hook({}), config.appSecret, { 'x-hub-signature-256': undefined }), config)).toMatchObject({ kind: 'rejected', reason: 'X-Hub-Signature-256 is missing' });
    expect(adapter.verify(post(hook({}), config.appSecret, { 'x-hub-signature-256': 'sha1=abc' }), config)).toMatchObject({ kind: 'rejected' });
  });
});

describe('WhatsappAdapter.parse messages', () => {
  it('reads a text message with the contact name and phone', async () => {
    expect(await parse(hook({ contacts: [alice], messages: [message({ type: 'text', text: { body: 'Is the 9am boat on?' } })] }))).toEqual([
      {
        kind: 'message',
        providerEventId: 'wamid.A1',
        providerMessageId: 'wamid.A1',
        sender: { externalId: '14155550123', name: 'Alice', phone: '+14155550123' },
        body: 'Is the 9am boat on?',
        attachments: [],
        occurredAt: new Date(1772366400 * 1000),
      },
    ]);
  });

  it.each([
    ['image', { image: { id: 'm1', mime_type: 'image/jpeg', sha256: 'x', caption: 'the pier' } }, 'the pier', [{ kind: 'image', ref: 'm1', mimeType: 'image/jpeg' }]],
    ['audio', { audio: { id: 'm2', mime_type: 'audio/ogg; codecs=opus', voice: true } }, '', [{ kind: 'audio', ref: 'm2', mimeType: 'audio/ogg; codecs=opus' }]],
    ['video', { video: { id: 'm3', mime_type: 'video/mp4' } }, '', [{ kind: 'video', ref: 'm3', mimeType: 'video/mp4' }]],
    ['document', { document: { id: 'm4', mime_type: 'application/pdf', filename: 'ticket.pdf', caption: 'my ticket' } }, 'my ticket', [{ kind: 'file', ref: 'm4', mimeType: 'application/pdf', name: 'ticket.pdf' }]],
    ['sticker', { sticker: { id: 'm5', mime_type: 'image/webp', animated: false } }, '', [{ kind: 'sticker', ref: 'm5', mimeType: 'image/webp' }]],
    ['location', { location: { latitude: 13.75, longitude: 100.5, name: 'Pier 3', address: 'Chao Phraya' } }, 'Pier 3, Chao Phraya', [{ kind: 'location', ref: '13.75,100.5', name: 'Pier 3, Chao Phraya' }]],
    ['interactive', { interactive: { type: 'button_reply', button_reply: { id: 'yes', title: 'Yes, book it' } } }, 'Yes, book it', []],
    ['interactive', { interactive: { type: 'list_reply', list_reply: { id: 'r2', title: 'Sunset cruise', description: '6pm' } } }, 'Sunset cruise', []],
    ['button', { button: { payload: 'STOP', text: 'Stop promotions' } }, 'Stop promotions', []],
    ['reaction', { reaction: { message_id: 'wamid.X', emoji: '👍' } }, '👍', []],
    ['unsupported', { errors: [{ code: 131051, title: 'Message type unknown' }] }, '[unsupported message]', []],
  ])('reads a %s message', async (type, fields, body, attachments) => {
    const [event] = await parse(hook({ contacts: [alice], messages: [message({ type, ...fields })] }));
    expect(event).toMatchObject({ kind: 'message', providerEventId: 'wamid.A1', body, attachments });
  });

  it('knows a user with no phone number by their business-scoped user id', async () => {
    const bsuidOnly = { profile: { name: 'Bo', username: '@bo' }, user_id: 'TH.8237461029384756' };
    const [event] = await parse(hook({ contacts: [bsuidOnly], messages: [{ from_user_id: 'TH.8237461029384756', id: 'wamid.B1', timestamp: '1772366400', type: 'text', text: { body: 'hello' } }] }));
    expect(event).toMatchObject({ kind: 'message', sender: { externalId: 'TH.8237461029384756', name: 'Bo' } });
    expect(event).not.toHaveProperty('sender.phone');
  });

  it('finds a BSUID-only sender from the contact when the message names none', async () => {
    const [event] = await parse(hook({ contacts: [{ profile: { name: 'Bo' }, user_id: 'TH.1' }], messages: [{ id: 'wamid.B2', timestamp: '1772366400', type: 'text', text: { body: 'x' } }] }));
    expect(event).toMatchObject({ sender: { externalId: 'TH.1', name: 'Bo' } });
  });

  it('reads several messages of several contacts in one delivery', async () => {
    const bob = { profile: { name: 'Bob' }, wa_id: '66812345678' };
    const events = await parse(
      hook({
        contacts: [alice, bob],
        messages: [message({ type: 'text', text: { body: 'a' } }), { from: '66812345678', id: 'wamid.B', timestamp: '1772366401', type: 'text', text: { body: 'b' } }],
      }),
    );
    expect(events.map((e) => e.kind === 'message' && [e.sender.name, e.body])).toEqual([
      ['Alice', 'a'],
      ['Bob', 'b'],
    ]);
  });

  it("skips system notices, other fields, and another number's events", async () => {
    const other = hook({ messages: [message({ type: 'text', text: { body: 'not ours' } })] });
    ((other['entry'] as Array<{ changes: Array<{ value: { metadata: { phone_number_id: string } } }> }>)[0]!.changes[0]!.value.metadata.phone_number_id = '999');
    expect(await parse(other)).toEqual([]);
    expect(await parse(hook({ messages: [message({ type: 'system', system: { body: 'changed number', type: 'user_changed_number' } })] }))).toEqual([]);
    expect(await parse({ object: 'whatsapp_business_account', entry: [{ id: '1', changes: [{ field: 'message_template_status_update', value: { event: 'APPROVED' } }] }] })).toEqual([]);
  });
});

describe('WhatsappAdapter.parse statuses', () => {
  const status = (fields: Record<string, unknown>) => ({ id: 'wamid.OUT1', recipient_id: '14155550123', timestamp: '1772366500', ...fields });

  it.each(['sent', 'delivered', 'read'] as const)('reads %s, with our message id from the callback data', async (state) => {
    expect(await parse(hook({ statuses: [status({ status: state, biz_opaque_callback_data: '0195f0a0-0000-7000-8000-000000000001' })] }))).toEqual([
      {
        kind: 'status',
        providerEventId: `wamid.OUT1:${state}`,
        providerMessageId: 'wamid.OUT1',
        messageId: '0195f0a0-0000-7000-8000-000000000001',
        status: state,
        occurredAt: new Date(1772366500 * 1000),
      },
    ]);
  });

  it('reads failed with the error code and reason', async () => {
    const failed = status({
      status: 'failed',
      errors: [{ code: 131047, title: 'Re-engagement message', message: 'Re-engagement message', error_data: { details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' } }],
    });
    const [event] = await parse(hook({ statuses: [failed] }));
    expect(event).toMatchObject({
      kind: 'status',
      status: 'failed',
      providerEventId: 'wamid.OUT1:failed',
      error: { code: 'whatsapp.131047', reason: 'Re-engagement message: Message failed to send because more than 24 hours have passed since the customer last replied to this number.' },
    });
    expect(event).not.toHaveProperty('messageId');
  });

  it('skips statuses that are not delivery steps', async () => {
    expect(await parse(hook({ statuses: [status({ status: 'deleted' })] }))).toEqual([]);
  });
});

describe('WhatsappAdapter.parse malformed payloads', () => {
  it.each([
    ['not JSON', '{"entry": ['],
    ['an array', '[]'],
    ['another object', { object: 'page', entry: [] }],
    ['no entry', { object: 'whatsapp_business_account' }],
    ['changes not a list', { object: 'whatsapp_business_account', entry: [{ changes: {} }] }],
    ['a message without id', hook({ messages: [{ from: '1', timestamp: '1', type: 'text', text: { body: 'x' } }] })],
    ['a text without body', hook({ messages: [message({ type: 'text', text: {} })] })],
    ['an image without media id', hook({ messages: [message({ type: 'image', image: { caption: 'x' } })] })],
    ['a bad timestamp', hook({ messages: [message({ type: 'text', text: { body: 'x' }, timestamp: 'yesterday' })] })],
    ['no sender at all', hook({ messages: [{ id: 'w', timestamp: '1', type: 'text', text: { body: 'x' } }] })],
    ['a status without id', hook({ statuses: [{ status: 'sent', timestamp: '1' }] })],
  ])('rejects %s as hook.malformed', async (_what, body) => {
    expect(await malformedReason(body)).toBeTruthy();
  });
});

describe('WhatsappAdapter.send', () => {
  let provider: FakeProvider;
  const withProvider = () => ({ ...config, apiBaseUrl: `${provider.url}/v21.0` });
  const text: OutboundMessage = { messageId: '0195f0a0-0000-7000-8000-000000000001', to: '14155550123', body: 'Yes, 9am runs', statusCallbackUrl: 'https://ferry.example/x' };

  beforeAll(async () => {
    provider = await startFakeProvider();
  });
  afterAll(async () => {
    await provider.close();
  });
  beforeEach(() => {
    provider.calls.length = 0;
  });

  const accepted = () => ({ status: 200, headers: { 'x-fb-trace-id': 'trace-1' }, body: { messaging_product: 'whatsapp', contacts: [{ input: '14155550123', wa_id: '14155550123' }], messages: [{ id: 'wamid.OUT1' }] } });
  const graphError = (status: number, code: number, message: string, headers: Record<string, string> = {}) => () => ({
    status,
    headers,
    body: { error: { message, type: 'OAuthException', code, error_data: { messaging_product: 'whatsapp', details: `details of ${code}` }, fbtrace_id: 'fbtrace-9' } },
  });

  it('posts a text message with the bearer token and our id as callback data', async () => {
    provider.answer(accepted);
    expect(await adapter.send(text, withProvider(), sendContext())).toEqual({ ok: true, providerMessageId: 'wamid.OUT1', providerRequestId: 'trace-1', responseCode: '200' });
    expect(provider.calls).toHaveLength(1);
    expect(provider.calls[0]).toMatchObject({ method: 'POST', path: '/v21.0/106540352242922/messages' });
    expect(provider.calls[0]!.headers['authorization']).toBe('Bearer EAAG-token');
    expect(provider.calls[0]!.json).toEqual({
      messaging_product: 'whatsapp',
      recipient_type: 'individual',
      to: '14155550123',
      type: 'text',
      text: { body: 'Yes, 9am runs', preview_url: false },
      biz_opaque_callback_data: text.messageId,
    });
  });

  it('sends to a business-scoped user id through `recipient`', async () => {
    provider.answer(accepted);
    await adapter.send({ ...text, to: 'TH.8237461029384756' }, withProvider(), sendContext());
    expect(provider.calls[0]!.json).toMatchObject({ recipient: 'TH.8237461029384756' });
    expect(provider.calls[0]!.json).not.toHaveProperty('to');
  });

  it('sends a template with its body parameters', async () => {
    provider.answer(accepted);
    await adapter.send({ ...text, template: { name: 'booking_reminder', language: 'en_US', parameters: ['Alice', '9am'] } }, withProvider(), sendContext());
    expect(provider.calls[0]!.json).toMatchObject({
      type: 'template',
      template: { name: 'booking_reminder', language: { code: 'en_US' }, components: [{ type: 'body', parameters: [{ type: 'text', text: 'Alice' }, { type: 'text', text: '9am' }] }] },
    });
    expect(provider.calls[0]!.json).not.toHaveProperty('text');
  });

  it('sends media by link with its caption', async () => {
    provider.answer(accepted);
    await adapter.send({ ...text, body: '', media: { kind: 'file', url: 'https://cdn.example/t.pdf', caption: 'Your ticket' } }, withProvider(), sendContext());
    expect(provider.calls[0]!.json).toMatchObject({ type: 'document', document: { link: 'https://cdn.example/t.pdf', caption: 'Your ticket' } });
  });

  it.each([
    [131047, 'Re-engagement message'],
    [131026, 'Message undeliverable'],
    [131051, 'Unsupported message type'],
    [132000, 'Number of parameters does not match'],
    [132001, 'Template name does not exist in the translation'],
    [100, 'Invalid parameter'],
    [190, 'Error validating access token: Session has expired'],
  ])('fails for good on error %i, keeping code and reason', async (code, title) => {
    provider.answer(graphError(code === 190 ? 401 : 400, code, title));
    expect(await adapter.send(text, withProvider(), sendContext())).toEqual({
      ok: false,
      permanent: true,
      code: `whatsapp.${code}`,
      reason: `${title}: details of ${code}`,
      responseCode: code === 190 ? '401' : '400',
      providerRequestId: 'fbtrace-9',
    });
  });

  it.each([
    [400, 130429, 'Rate limit hit'],
    [400, 131056, '(Business Account, Consumer Account) pair rate limit hit'],
    [400, 80007, 'Rate limit issues'],
    [500, 131000, 'Something went wrong'],
    [503, 2, 'Service temporarily unavailable'],
    [500, 1, 'An unknown error occurred'],
    [400, 4, 'Application request limit reached'],
  ])('retries later on HTTP %i error %i', async (status, code, title) => {
    provider.answer(graphError(status, code, title));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: false, code: `whatsapp.${code}` });
  });

  it('honours Retry-After on a rate limit', async () => {
    provider.answer(graphError(429, 130429, 'Rate limit hit', { 'retry-after': '3' }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: false, code: 'whatsapp.130429', retryAfterMs: 3000 });
  });

  it('falls back to the HTTP status without an error object', async () => {
    provider.answer(() => ({ status: 502, body: 'Bad Gateway' }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: false, code: 'whatsapp.http_502', reason: 'Bad Gateway' });
    provider.answer(() => ({ status: 404, body: 'Not Found' }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: true, code: 'whatsapp.http_404' });
  });

  it('never marks an accepted but unnamed message for a resend', async () => {
    provider.answer(() => ({ status: 200, body: { messaging_product: 'whatsapp' } }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: true, code: 'whatsapp.unexpected_response' });
  });

  it('is transient when Meta does not answer in time', async () => {
    provider.answer(() => ({ status: 200, hang: true }));
    expect(await adapter.send(text, withProvider(), sendContext(100))).toMatchObject({ ok: false, permanent: false, code: 'provider.timeout' });
  });
});
