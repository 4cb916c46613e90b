import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '#domain';
import type { HookRequest, InboundMessageEvent, OutboundMessage, SendContext, StatusEvent } from '../channel-adapter.js';
import type { SmsConfig } from '../config/channel-configs.js';
import { type FakeProvider, type ScriptedAnswer, startFakeProvider, TEST_GUARD } from '../fake-provider-server.js';
import { SmsAdapter } from './sms.adapter.js';
import { parseTwilioForm, twilioSignature, twilioSignatureMatches } from './twilio-signature.js';

const CONFIG: SmsConfig = { accountSid: 'AC0123456789abcdef0123456789abcdef', authToken: '9f8e7d6c5b4a39281706f5e4d3c2b1a0', fromNumber: '+14155550123' };
const HOOK_URL = 'https://ferry.example/hooks/sms/0191f0a2-7c1d-7b4e-9a3f-2c5d8e1f4a6b';
const adapter = new SmsAdapter();

const INBOUND = {
  ToCountry: 'US',
  SmsMessageSid: 'SM1f2e3d4c5b6a79881f2e3d4c5b6a7988',
  NumMedia: '0',
  SmsSid: 'SM1f2e3d4c5b6a79881f2e3d4c5b6a7988',
  SmsStatus: 'received',
  Body: 'Is the 9am tour still on? 🚤',
  To: '+14155550123',
  NumSegments: '1',
  MessageSid: 'SM1f2e3d4c5b6a79881f2e3d4c5b6a7988',
  AccountSid: CONFIG.accountSid,
  From: '+15105550199',
  ApiVersion: '2010-04-01',
};

function signed(params: Record<string, string>, url = HOOK_URL, token = CONFIG.authToken): HookRequest {
  const body = new URLSearchParams(params).toString();
  const u = new URL(url);
  return {
    method: 'POST',
    url,
    query: Object.fromEntries(u.searchParams),
    headers: { 'content-type': 'application/x-www-form-urlencoded', 'x-twilio-signature': twilioSignature(token, url, params) },
    rawBody: Buffer.from(body, 'utf8'),
    receivedAt: new Date('2026-05-01T09:00:00Z'),
  };
}

async function expectMalformed(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe('hook.malformed');
}

describe('X-Twilio-Signature', () => {
  const payloads: Array<[string, string, Record<string, string>]> = [
    ['an inbound message', HOOK_URL, INBOUND],
    ['unicode bodies and names', HOOK_URL, { ...INBOUND, Body: '你好！ Ça va? 😀 ñ', ProfileName: 'Zoë 山田' }],
    ['a URL with a query string', `${HOOK_URL}?messageId=0191f0a2-0000-7000-8000-000000000001`, { MessageSid: 'SM1', MessageStatus: 'delivered', AccountSid: CONFIG.accountSid }],
    ['names that sort by code unit (upper before lower, digits first)', HOOK_URL, { b: '1', B: '2', a1: '3', A: '4', MediaUrl10: 'x', MediaUrl2: 'y' }],
    ['empty values and reserved characters', `${HOOK_URL}?a=1&b=%20x`, { Body: '', Note: 'a+b=c&d %25' }],
    ['no parameters at all', HOOK_URL, {}],
  ];

  it.each(payloads)('agrees with twilio.validateRequest on %s', (_name, url, params) => {
    const signature = twilioSignature(CONFIG.authToken, url, params);
    expect(twilio.validateRequest(CONFIG.authToken, signature, url, params)).toBe(true);
    const parsed = parseTwilioForm(new URLSearchParams(params).toString());
    expect(twilioSignatureMatches(CONFIG.authToken, signature, url, parsed)).toBe(true);
    // And both refuse the same forgeries.
    const forged = { ...params, Body: `${params['Body'] ?? ''}!` };
    expect(twilio.validateRequest(CONFIG.authToken, signature, url, forged)).toBe(false);
    expect(twilioSignatureMatches(CONFIG.authToken, signature, url, forged)).toBe(false);
    expect(twilioSignatureMatches('another-token', signature, url, parsed)).toBe(false);
  });

  it('matches signatures the twilio package computes itself', () => {
    for (const [, url, params] of payloads) {
      const theirs = twilio.getExpectedTwilioSignature(CONFIG.authToken, url, params);
      expect(twilioSignature(CONFIG.authToken, url, params)).toBe(theirs);
    }
  });

  it('signs repeated names like Twilio (each distinct value, sorted)', () => {
    const body = 'To=%2B1&Tag=b&Tag=a&Tag=b';
    const params = parseTwilioForm(body);
    expect(params['Tag']).toEqual(['b', 'a', 'b']);
    expect(twilioSignature(CONFIG.authToken, HOOK_URL, params)).toBe(twilio.getExpectedTwilioSignature(CONFIG.authToken, HOOK_URL, params));
  });

  it('accepts the URL signed with or without the default port, as the twilio validator does', () => {
    const signature = twilioSignature(CONFIG.authToken, 'https://ferry.example:443/hooks/sms/x', INBOUND);
    expect(twilio.validateRequest(CONFIG.authToken, signature, 'https://ferry.example/hooks/sms/x', INBOUND)).toBe(true);
    expect(twilioSignatureMatches(CONFIG.authToken, signature, 'https://ferry.example/hooks/sms/x', INBOUND)).toBe(true);
    expect(twilioSignatureMatches(CONFIG.authToken, signature, 'https://ferry.example/hooks/sms/y', INBOUND)).toBe(false);
  });
});

describe('sms verify', () => {
  it('accepts a correctly signed post', () => {
    expect(adapter.verify(signed(INBOUND), CONFIG)).toEqual({ kind: 'verified' });
  });

  it('rejects a tampered body, a wrong auth token, another URL and a missing header', () => {
    const request = signed(INBOUND);
    const tampered = { ...request, rawBody: Buffer.from(request.rawBody.toString().replace('9am', '5pm')) };
    expect(adapter.verify(tampered, CONFIG)).toMatchObject({ kind: 'rejected', code: 'hook.invalid_signature' });
    expect(adapter.verify(signed(INBOUND, HOOK_URL, 'wrong-token'), CONFIG)).toMatchObject({ kind: 'rejected' });
    expect(adapter.verify({ ...request, url: `${HOOK_URL}?messageId=x` }, CONFIG)).toMatchObject({ kind: 'rejected' });
    expect(adapter.verify({ ...request, headers: { 'content-type': 'application/x-www-form-urlencoded' } }, CONFIG)).toMatchObject({ kind: 'rejected' });
  });
});

describe('sms parse', () => {
  it('reads an inbound message: From (E.164) as the external id, MessageSid as the dedupe key, TwiML reply', async () => {
    const parsed = await adapter.parse(signed({ ...INBOUND, ProfileName: 'Ana' }), CONFIG);
    expect(parsed.reply).toEqual({ status: 200, contentType: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>' });
    expect(parsed.events).toEqual([
      {
        kind: 'message',
        providerEventId: INBOUND.MessageSid,
        providerMessageId: INBOUND.MessageSid,
        sender: { externalId: '+15105550199', phone: '+15105550199', name: 'Ana' },
        body: 'Is the 9am tour still on? 🚤',
        attachments: [],
        occurredAt: new Date('2026-05-01T09:00:00Z'),
      },
    ]);
  });

  it('reads MMS media', async () => {
    const { events } = await adapter.parse(
      signed({ ...INBOUND, Body: '', NumMedia: '2', MediaUrl0: 'https://api.twilio.com/media/ME1', MediaContentType0: 'image/jpeg', MediaUrl1: 'https://api.twilio.com/media/ME2', MediaContentType1: 'application/pdf' }),
      CONFIG,
    );
    expect((events[0] as InboundMessageEvent).attachments).toEqual([
      { kind: 'image', ref: 'https://api.twilio.com/media/ME1', mimeType: 'image/jpeg' },
      { kind: 'file', ref: 'https://api.twilio.com/media/ME2', mimeType: 'application/pdf' },
    ]);
  });

  const callback = (status: string, extra: Record<string, string> = {}) =>
    signed({ MessageSid: 'SMabc', SmsSid: 'SMabc', MessageStatus: status, SmsStatus: status, AccountSid: CONFIG.accountSid, From: CONFIG.fromNumber!, To: '+15105550199', ApiVersion: '2010-04-01', ...extra }, `${HOOK_URL}?messageId=msg-42`);

  it.each([
    ['sent', 'sent'],
    ['delivered', 'delivered'],
    ['read', 'read'],
  ])('maps the %s status callback to %s, with our message id from the callback URL', async (twilioStatus, status) => {
    const { events } = await adapter.parse(callback(twilioStatus), CONFIG);
    expect(events).toEqual([{ kind: 'status', providerEventId: `SMabc:${twilioStatus}`, providerMessageId: 'SMabc', messageId: 'msg-42', status, occurredAt: new Date('2026-05-01T09:00:00Z') }]);
  });

  it('maps undelivered and failed to failed with the ErrorCode', async () => {
    const [undelivered] = (await adapter.parse(callback('undelivered', { ErrorCode: '30003' }), CONFIG)).events as StatusEvent[];
    expect(undelivered).toMatchObject({ status: 'failed', providerEventId: 'SMabc:undelivered', error: { code: 'twilio.30003', reason: 'Unreachable destination handset' } });
    const [failed] = (await adapter.parse(callback('failed', { ErrorCode: '30999', ErrorMessage: 'Something odd' }), CONFIG)).events as StatusEvent[];
    expect(failed).toMatchObject({ status: 'failed', error: { code: 'twilio.30999', reason: 'Something odd' } });
    const [bare] = (await adapter.parse(callback('failed'), CONFIG)).events as StatusEvent[];
    expect(bare!.error).toEqual({ code: 'twilio.failed', reason: 'Twilio reported the message failed' });
  });

  it('emits nothing for queued and sending (and statuses Twilio may add)', async () => {
    for (const status of ['queued', 'sending', 'accepted', 'partially_delivered']) {
      expect((await adapter.parse(callback(status), CONFIG)).events).toEqual([]);
    }
  });

  it('leaves messageId out when the callback URL has none', async () => {
    const [event] = (await adapter.parse(signed({ MessageSid: 'SMabc', MessageStatus: 'delivered' }), CONFIG)).events as StatusEvent[];
    expect(event).not.toHaveProperty('messageId');
  });

  it('gives a replayed post the same providerEventId', async () => {
    const a = await adapter.parse(signed(INBOUND), CONFIG);
    const b = await adapter.parse(signed(INBOUND), CONFIG);
    expect(b.events[0]!.providerEventId).toBe(a.events[0]!.providerEventId);
    const c = await adapter.parse(callback('delivered'), CONFIG);
    const d = await adapter.parse(callback('delivered'), CONFIG);
    expect(d.events[0]!.providerEventId).toBe(c.events[0]!.providerEventId);
  });

  it('rejects malformed posts with hook.malformed', async () => {
    const { MessageSid: _m, SmsSid: _s, SmsMessageSid: _x, ...noSid } = INBOUND;
    await expectMalformed(adapter.parse(signed(noSid), CONFIG));
    const { From: _f, ...noFrom } = INBOUND;
    await expectMalformed(adapter.parse(signed(noFrom), CONFIG));
    await expectMalformed(adapter.parse(signed({ ...INBOUND, NumMedia: 'many' }), CONFIG));
    await expectMalformed(adapter.parse(signed({ ...INBOUND, NumMedia: '1' }), CONFIG));
    const json = { ...signed(INBOUND), headers: { 'content-type': 'application/json' }, rawBody: Buffer.from(JSON.stringify(INBOUND)) };
    await expectMalformed(adapter.parse(json, CONFIG));
  });
});

/* ── send: a local stand-in for api.twilio.com ──────────────────────────────────────────────── */

let provider: FakeProvider;
let answers: ScriptedAnswer[] = [];

beforeAll(async () => {
  provider = await startFakeProvider();
  provider.answer(() => {
    const answer = answers.shift() ?? { status: 201, body: { sid: 'SM0000000000000000000000000000000a', status: 'queued' } };
    return { ...answer, headers: { 'twilio-request-id': 'RQ123', ...answer.headers } };
  });
});

afterAll(() => provider.close());

describe('sms send', () => {
  const context: SendContext = {
    tokens: { get: () => Promise.reject(new Error('Twilio needs no token')), invalidate: () => Promise.resolve() },
    timeoutMs: 2000,
    now: () => new Date('2026-05-01T09:00:00Z'),
    guard: TEST_GUARD,
  };
  const message: OutboundMessage = { messageId: 'msg-42', to: '+15105550199', body: 'Yes, 9am at the pier.', statusCallbackUrl: `${HOOK_URL}?messageId=msg-42` };
  let config: SmsConfig;

  beforeEach(() => {
    provider.calls.length = 0;
    answers = [];
    config = { ...CONFIG, apiBaseUrl: provider.url };
  });
  const form = (index: number) => new URLSearchParams(provider.calls[index]!.body);

  it('posts the form to Messages.json with Basic auth and the StatusCallback; 201 gives the sid', async () => {
    const outcome = await adapter.send(message, config, context);
    expect(outcome).toEqual({ ok: true, providerMessageId: 'SM0000000000000000000000000000000a', providerRequestId: 'RQ123', responseCode: '201' });
    expect(provider.calls).toHaveLength(1);
    const [call] = provider.calls;
    expect(call!.method).toBe('POST');
    expect(call!.path).toBe(`/2010-04-01/Accounts/${CONFIG.accountSid}/Messages.json`);
    expect(call!.headers['content-type']).toBe('application/x-www-form-urlencoded');
    expect(call!.headers.authorization).toBe(`Basic ${Buffer.from(`${CONFIG.accountSid}:${CONFIG.authToken}`).toString('base64')}`);
    expect(Object.fromEntries(form(0))).toEqual({ To: '+15105550199', Body: 'Yes, 9am at the pier.', From: '+14155550123', StatusCallback: `${HOOK_URL}?messageId=msg-42` });
  });

  it('sends through the Messaging Service instead of From when one is set', async () => {
    await adapter.send(message, { ...config, messagingServiceSid: 'MG0123456789abcdef0123456789abcdef' }, context);
    expect(form(0).get('MessagingServiceSid')).toBe('MG0123456789abcdef0123456789abcdef');
    expect(form(0).has('From')).toBe(false);
  });

  it.each([
    [21211, "The 'To' number +1510 is not a valid phone number."],
    [21610, 'Attempt to send to unsubscribed recipient'],
    [21614, "'To' number is not a valid mobile number"],
    [21408, 'Permission to send an SMS has not been enabled for the region indicated by the To number'],
  ])('error %i is permanent, with Twilio message as the reason', async (code, text) => {
    answers = [{ status: 400, body: { code, message: text, more_info: `https://www.twilio.com/docs/errors/${code}`, status: 400 } }];
    expect(await adapter.send(message, config, context)).toEqual({ ok: false, permanent: true, code: `twilio.${code}`, reason: text, providerRequestId: 'RQ123', responseCode: '400' });
  });

  it('429 / 20429 is transient and honours Retry-After', async () => {
    answers = [{ status: 429, body: { code: 20429, message: 'Too Many Requests', status: 429 }, headers: { 'retry-after': '3' } }];
    expect(await adapter.send(message, config, context)).toMatchObject({ ok: false, permanent: false, code: 'twilio.20429', retryAfterMs: 3000 });
  });

  it('5xx is transient; a timeout is transient', async () => {
    answers = [{ status: 503, body: { code: 20500, message: 'Internal Server Error', status: 503 } }];
    expect(await adapter.send(message, config, context)).toMatchObject({ ok: false, permanent: false, code: 'twilio.20500', reason: 'Internal Server Error' });
    answers = [{ status: 201, hang: true }];
    expect(await adapter.send(message, config, { ...context, timeoutMs: 100 })).toMatchObject({ ok: false, permanent: false, code: 'provider.timeout' });
  });

  it('another 4xx (bad credentials) is permanent under its own code', async () => {
    answers = [{ status: 401, body: { code: 20003, message: 'Authenticate', status: 401 } }];
    expect(await adapter.send(message, config, context)).toMatchObject({ ok: false, permanent: true, code: 'twilio.20003', reason: 'Authenticate' });
  });
});
