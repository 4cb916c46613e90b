import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '#domain';
import type { OutboundMessage } from '../channel-adapter.js';
import { type FakeProvider, sendContext, startFakeProvider } from '../fake-provider-server.js';
import { standardWebhookSignature } from '#net';
import { ApiChannelAdapter } from './api.adapter.js';

const adapter = new ApiChannelAdapter();
const message: OutboundMessage = {
  messageId: '0195f0a0-0000-7000-8000-000000000001',
  conversationId: '0195f0a0-0000-7000-8000-0000000000c1',
  to: 'crm-customer-42',
  body: 'Yes, 9am runs',
  statusCallbackUrl: 'https://ferry.example/x',
};
const now = new Date('2026-03-01T12:00:00Z');
const secret = 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw';

describe('standardWebhookSignature', () => {
  it("reproduces the Standard Webhooks specification's test vector", () => {
    expect(standardWebhookSignature(secret, 'msg_p5jXN8AQM9LWM0D4loKWxJek', 1614265330, '{"test": 2432232314}')).toBe('v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=');
  });

  it('uses a secret without the whsec_ prefix as text', () => {
    const expected = createHmac('sha256', 'plain-secret').update('id.1.{}').digest('base64');
    expect(standardWebhookSignature('plain-secret', 'id', 1, '{}')).toBe(`v1,${expected}`);
  });
});

describe('ApiChannelAdapter.send', () => {
  let provider: FakeProvider;
  const config = () => ({ webhookUrl: `${provider.url}/ferry/outbound`, webhookSecret: secret });

  beforeAll(async () => {
    provider = await startFakeProvider();
  });
  afterAll(async () => {
    await provider.close();
  });
  beforeEach(() => {
    provider.calls.length = 0;
  });

  it('posts the message, signed so the integrator can verify it', async () => {
    provider.answer(() => ({ status: 204 }));
    expect(await adapter.send(message, config(), sendContext(5000, now))).toEqual({ ok: true, providerMessageId: message.messageId, responseCode: '204' });
    const [call] = provider.calls;
    expect(call).toMatchObject({ method: 'POST', path: '/ferry/outbound', json: { messageId: message.messageId, conversationId: message.conversationId, to: 'crm-customer-42', body: 'Yes, 9am runs' } });
    const timestamp = Math.floor(now.getTime() / 1000);
    expect(call!.headers).toMatchObject({ 'content-type': 'application/json', 'webhook-id': message.messageId, 'webhook-timestamp': String(timestamp) });
    // What an integrator does: recompute over the exact bytes received.
    const key = Buffer.from(secret.slice('whsec_'.length), 'base64');
    const expected = createHmac('sha256', key).update(`${message.messageId}.${timestamp}.${call!.body}`).digest('base64');
    expect(call!.headers['webhook-signature']).toBe(`v1,${expected}`);
  });

  it('carries a template when there is one', async () => {
    provider.answer(() => ({ status: 200, body: {} }));
    await adapter.send({ ...message, template: { name: 'reminder', language: 'en', parameters: ['9am'] } }, config(), sendContext());
    expect(provider.calls[0]!.json).toMatchObject({ template: { name: 'reminder', language: 'en', parameters: ['9am'] } });
  });

  it('sends unsigned when the inbox has no secret', async () => {
    provider.answer(() => ({ status: 200, body: {} }));
    await adapter.send(message, { webhookUrl: `${provider.url}/hook` }, sendContext());
    expect(provider.calls[0]!.headers).not.toHaveProperty('webhook-signature');
    expect(provider.calls[0]!.headers).toHaveProperty('webhook-id', message.messageId);
  });

  it('fails for good without a webhookUrl', async () => {
    expect(await adapter.send(message, {}, sendContext())).toEqual({ ok: false, permanent: true, code: 'api.no_webhook_url', reason: 'The inbox has no webhookUrl to deliver replies to' });
    expect(provider.calls).toHaveLength(0);
  });

  it('retries 5xx and 429 (after Retry-After), fails for good on other 4xx', async () => {
    provider.answer(() => ({ status: 503, body: 'down' }));
    expect(await adapter.send(message, config(), sendContext())).toMatchObject({ ok: false, permanent: false, code: 'api.http_503' });
    provider.answer(() => ({ status: 429, headers: { 'retry-after': '5' } }));
    expect(await adapter.send(message, config(), sendContext())).toMatchObject({ ok: false, permanent: false, code: 'api.http_429', retryAfterMs: 5000 });
    provider.answer(() => ({ status: 410, body: 'gone' }));
    expect(await adapter.send(message, config(), sendContext())).toMatchObject({ ok: false, permanent: true, code: 'api.http_410', reason: 'gone' });
  });

  it('is transient when the integrator does not answer in time', async () => {
    provider.answer(() => ({ status: 200, hang: true }));
    expect(await adapter.send(message, config(), sendContext(100))).toMatchObject({ ok: false, permanent: false, code: 'provider.timeout' });
  });
});

describe('ApiChannelAdapter hooks', () => {
  it('has none: verify rejects and parse refuses', async () => {
    expect(adapter.verify()).toMatchObject({ kind: 'rejected', code: 'hook.not_supported' });
    await expect(adapter.parse()).rejects.toBeInstanceOf(DomainError);
  });
});
