import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '#domain';
import type { HookRequest, OutboundMessage } from '../channel-adapter.js';
import type { LineConfig } from '../config/channel-configs.js';
import { type FakeProvider, sendContext, startFakeProvider } from '../fake-provider-server.js';
import { LineAdapter } from './line.adapter.js';

const adapter = new LineAdapter();
const config: LineConfig = { channelSecret: '0f1e2d3c4b5a69788796a5b4c3d2e1f0', channelAccessToken: 'line-access-token' };
const receivedAt = new Date('2026-03-01T12:00:02Z');
const timestamp = Date.parse('2026-03-01T12:00:00Z');

function post(body: unknown, secret: string | null = config.channelSecret): HookRequest {
  const rawBody = Buffer.from(typeof body === 'string' ? body : JSON.stringify(body));
  const headers: Record<string, string | undefined> = { 'content-type': 'application/json' };
  if (secret !== null) headers['x-line-signature'] = createHmac('sha256', secret).update(rawBody).digest('base64');
  return { method: 'POST', url: 'https://ferry.example/hooks/line/i1', query: {}, headers, rawBody, receivedAt };
}

const userSource = { type: 'user', userId: 'U4af4980629' };
const messageEvent = (message: Record<string, unknown>, fields: Record<string, unknown> = {}) => ({
  type: 'message',
  mode: 'active',
  timestamp,
  source: userSource,
  webhookEventId: '01FZ74A0TDDPYRVKNK77XKC3ZR',
  deliveryContext: { isRedelivery: false },
  replyToken: 'nHuyWiB7yP5Zw52FIkcQobQuGDXCTA',
  message: { id: '444573844083572737', quoteToken: 'q3Plxr4AgKd', ...message },
  ...fields,
});
const hook = (...events: unknown[]) => ({ destination: 'xxxxxxxxxx', events });

async function parse(body: unknown) {
  return (await adapter.parse(post(body), config)).events;
}

describe('LineAdapter.verify', () => {
  it('accepts the base64 HMAC-SHA256 of the body with the channel secret', () => {
    expect(adapter.verify(post(hook(messageEvent({ type: 'text', text: 'hi' }))), config)).toEqual({ kind: 'verified' });
  });

  it('rejects a tampered body, another secret, a missing signature and a GET', () => {
    const tampered = post(hook(messageEvent({ type: 'text', text: 'hi' })));
    tampered.rawBody = Buffer.from(tampered.rawBody.toString().replace('"hi"', '"ho"'));
    expect(adapter.verify(tampered, config)).toMatchObject({ kind: 'rejected', code: 'hook.invalid_signature' });
    expect(adapter.verify(post(hook(), 'another-secret'), config)).toMatchObject({ kind: 'rejected', code: 'hook.invalid_signature' });
    expect(adapter.verify(post(hook(), null), config)).toMatchObject({ kind: 'rejected', reason: 'x-line-signature is missing' });
    expect(adapter.verify({ ...post(hook()), method: 'GET' }, config)).toMatchObject({ kind: 'rejected' });
  });
});

describe('LineAdapter.parse', () => {
  it('reads a text message with its reply token, valid one minute from the event', async () => {
    expect(await parse(hook(messageEvent({ type: 'text', text: 'Is the 9am boat on?' })))).toEqual([
      {
        kind: 'message',
        providerEventId: '01FZ74A0TDDPYRVKNK77XKC3ZR',
        providerMessageId: '444573844083572737',
        sender: { externalId: 'U4af4980629' },
        body: 'Is the 9am boat on?',
        attachments: [],
        occurredAt: new Date(timestamp),
        replyToken: { token: 'nHuyWiB7yP5Zw52FIkcQobQuGDXCTA', expiresAt: new Date(timestamp + 60_000) },
      },
    ]);
  });

  it('counts the minute from our receipt when the event claims a later time', async () => {
    const [event] = await parse(hook(messageEvent({ type: 'text', text: 'x' }, { timestamp: receivedAt.getTime() + 30_000 })));
    expect(event).toMatchObject({ replyToken: { expiresAt: new Date(receivedAt.getTime() + 60_000) } });
  });

  it.each([
    ['image', { type: 'image', contentProvider: { type: 'line' } }, '', [{ kind: 'image', ref: '444573844083572737' }]],
    ['external video', { type: 'video', duration: 6000, contentProvider: { type: 'external', originalContentUrl: 'https://cdn.example/v.mp4' } }, '', [{ kind: 'video', ref: 'https://cdn.example/v.mp4' }]],
    ['audio', { type: 'audio', duration: 3000, contentProvider: { type: 'line' } }, '', [{ kind: 'audio', ref: '444573844083572737' }]],
    ['file', { type: 'file', fileName: 'ticket.pdf', fileSize: 2138 }, '', [{ kind: 'file', ref: '444573844083572737', name: 'ticket.pdf' }]],
    ['location', { type: 'location', title: 'Pier 3', address: 'Chao Phraya', latitude: 13.75, longitude: 100.5 }, 'Pier 3, Chao Phraya', [{ kind: 'location', ref: '13.75,100.5', name: 'Pier 3, Chao Phraya' }]],
    ['sticker', { type: 'sticker', packageId: '446', stickerId: '1988', stickerResourceType: 'STATIC' }, '', [{ kind: 'sticker', ref: '446/1988' }]],
  ])('reads a %s message', async (_kind, message, body, attachments) => {
    const [event] = await parse(hook(messageEvent(message)));
    expect(event).toMatchObject({ kind: 'message', providerEventId: '01FZ74A0TDDPYRVKNK77XKC3ZR', body, attachments });
  });

  it('answers a group or a room by its id', async () => {
    const [group] = await parse(hook(messageEvent({ type: 'text', text: 'x' }, { source: { type: 'group', groupId: 'Ca56f94637c', userId: 'U4af4980629' } })));
    const [room] = await parse(hook(messageEvent({ type: 'text', text: 'x' }, { source: { type: 'room', roomId: 'Ra8dbf4673c' } })));
    expect(group).toMatchObject({ sender: { externalId: 'Ca56f94637c' } });
    expect(room).toMatchObject({ sender: { externalId: 'Ra8dbf4673c' } });
  });

  it('reads follow and unfollow as contact events', async () => {
    const follow = { type: 'follow', mode: 'active', timestamp, source: userSource, webhookEventId: 'EV-F', deliveryContext: { isRedelivery: false }, replyToken: 'r', follow: { isUnblocked: false } };
    const unfollow = { type: 'unfollow', mode: 'active', timestamp, source: userSource, webhookEventId: 'EV-U', deliveryContext: { isRedelivery: true } };
    expect(await parse(hook(follow, unfollow))).toEqual([
      { kind: 'contact', providerEventId: 'EV-F', sender: { externalId: 'U4af4980629' }, action: 'subscribed', occurredAt: new Date(timestamp) },
      { kind: 'contact', providerEventId: 'EV-U', sender: { externalId: 'U4af4980629' }, action: 'unsubscribed', occurredAt: new Date(timestamp) },
    ]);
  });

  it("answers the console's empty check and unhandled event types with no events", async () => {
    expect(await parse(hook())).toEqual([]);
    expect(await parse(hook({ type: 'postback', timestamp, source: userSource, webhookEventId: 'P', postback: { data: 'x' } }))).toEqual([]);
  });

  it.each([
    ['not JSON', 'events'],
    ['no events', { destination: 'x' }],
    ['an event that is not an object', hook('x')],
    ['no webhookEventId', hook({ ...messageEvent({ type: 'text', text: 'x' }), webhookEventId: undefined })],
    ['no source', hook({ ...messageEvent({ type: 'text', text: 'x' }), source: undefined })],
    ['an unknown source type', hook(messageEvent({ type: 'text', text: 'x' }, { source: { type: 'planet' } }))],
    ['a group without groupId', hook(messageEvent({ type: 'text', text: 'x' }, { source: { type: 'group' } }))],
    ['a text without text', hook(messageEvent({ type: 'text' }))],
    ['a bad timestamp', hook(messageEvent({ type: 'text', text: 'x' }, { timestamp: 'now' }))],
  ])('rejects %s as hook.malformed', async (_what, body) => {
    await expect(adapter.parse(post(body), config)).rejects.toSatisfy((e: unknown) => e instanceof DomainError && e.code === 'hook.malformed');
  });
});

describe('LineAdapter.send', () => {
  let provider: FakeProvider;
  const withProvider = () => ({ ...config, apiBaseUrl: provider.url });
  const text: OutboundMessage = { messageId: '0195f0a0-0000-7000-8000-000000000001', to: 'U4af4980629', body: 'Yes, 9am runs', statusCallbackUrl: 'https://ferry.example/x' };
  const accepted = () => ({ status: 200, headers: { 'x-line-request-id': 'req-ok' }, body: { sentMessages: [{ id: '461230966842064897', quoteToken: 'q' }] } });

  beforeAll(async () => {
    provider = await startFakeProvider();
  });
  afterAll(async () => {
    await provider.close();
  });
  beforeEach(() => {
    provider.calls.length = 0;
  });

  it('replies with a fresh reply token, without a retry key', async () => {
    provider.answer(accepted);
    expect(await adapter.send({ ...text, replyToken: 'nHuyWiB7yP5Zw52FIkcQobQuGDXCTA' }, withProvider(), sendContext())).toEqual({
      ok: true,
      providerMessageId: 'req-ok',
      providerRequestId: 'req-ok',
      responseCode: '200',
    });
    expect(provider.calls[0]).toMatchObject({ path: '/v2/bot/message/reply', json: { replyToken: 'nHuyWiB7yP5Zw52FIkcQobQuGDXCTA', messages: [{ type: 'text', text: 'Yes, 9am runs' }] } });
    expect(provider.calls[0]!.headers['authorization']).toBe('Bearer line-access-token');
    expect(provider.calls[0]!.headers).not.toHaveProperty('x-line-retry-key');
  });

  it('pushes with our message id as X-Line-Retry-Key', async () => {
    provider.answer(accepted);
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: true, providerMessageId: 'req-ok' });
    expect(provider.calls[0]).toMatchObject({ path: '/v2/bot/message/push', json: { to: 'U4af4980629', messages: [{ type: 'text', text: 'Yes, 9am runs' }] } });
    expect(provider.calls[0]!.headers['x-line-retry-key']).toBe(text.messageId);
  });

  it('takes a 409 to a retried push that LINE already accepted as sent, naming the accepted request', async () => {
    const accepted = new Set<string>();
    provider.answer((call) => {
      const key = String(call.headers['x-line-retry-key']);
      if (accepted.has(key)) return { status: 409, headers: { 'x-line-request-id': 'req-2', 'x-line-accepted-request-id': 'req-1' }, body: { message: 'The retry key is already accepted' } };
      accepted.add(key);
      return { status: 200, hang: true }; // accepted, but the answer is lost
    });
    expect(await adapter.send(text, withProvider(), sendContext(100))).toMatchObject({ ok: false, permanent: false, code: 'provider.timeout' });
    expect(await adapter.send(text, withProvider(), sendContext())).toEqual({ ok: true, providerMessageId: 'req-1', providerRequestId: 'req-2', responseCode: '409' });
    expect(provider.calls.map((c) => c.headers['x-line-retry-key'])).toEqual([text.messageId, text.messageId]);
  });

  it('retries a 409 that names no accepted request', async () => {
    provider.answer(() => ({ status: 409, body: { message: 'The request with the retry key is being processed' } }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: false, code: 'line.retry_key_conflict' });
  });

  it('reports an expired reply token as transient line.reply_token_expired, so the retry pushes', async () => {
    provider.answer(() => ({ status: 400, headers: { 'x-line-request-id': 'req-bad' }, body: { message: 'Invalid reply token' } }));
    expect(await adapter.send({ ...text, replyToken: 'old' }, withProvider(), sendContext())).toEqual({
      ok: false,
      permanent: false,
      code: 'line.reply_token_expired',
      reason: 'Invalid reply token',
      responseCode: '400',
      providerRequestId: 'req-bad',
    });
  });

  it('fails for good on a bad request or bad credentials, with the details', async () => {
    provider.answer(() => ({ status: 400, body: { message: 'The request body has 1 error(s)', details: [{ message: 'must be specified', property: 'to' }] } }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: true, code: 'line.400', reason: 'The request body has 1 error(s); to: must be specified' });
    provider.answer(() => ({ status: 401, body: { message: 'Authentication failed due to the following reason: invalid token' } }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: true, code: 'line.401' });
  });

  it('retries a rate limit after Retry-After, but not the monthly limit', async () => {
    provider.answer(() => ({ status: 429, headers: { 'retry-after': '2' }, body: { message: 'Too Many Requests' } }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: false, code: 'line.429', retryAfterMs: 2000 });
    provider.answer(() => ({ status: 429, body: { message: 'You have reached your monthly limit.' } }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: true, code: 'line.monthly_limit' });
  });

  it('retries a 5xx and a timeout', async () => {
    provider.answer(() => ({ status: 500, body: { message: 'Internal server error' } }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: false, code: 'line.500' });
    provider.answer(() => ({ status: 200, hang: true }));
    expect(await adapter.send(text, withProvider(), sendContext(100))).toMatchObject({ ok: false, permanent: false, code: 'provider.timeout' });
  });
});
