import { createHmac } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HookReceiver, type ReceivedRequest, SimulatorHarness } from '#testing';

// Ferry's side of the wire is played by a bare HTTP receiver; signatures are checked here with
// node:crypto directly, not with the simulator's code.
let sim: SimulatorHarness;
let ferry: HookReceiver;
const ACCOUNT = { channel: 'whatsapp' as const, phoneNumberId: '106540352242922', accessToken: 'EAAG-good-token', appSecret: 'app-secret-1', verifyToken: 'verify-me' };
let accountId: string;

beforeAll(async () => {
  sim = await SimulatorHarness.start();
  ferry = await HookReceiver.start();
});
afterAll(async () => {
  await sim.close();
  await ferry.close();
});
beforeEach(async () => {
  await sim.reset();
  ferry.clear();
  ferry.respond(() => ({ status: 200, body: 'EVENT_RECEIVED' }));
  accountId = (await sim.registerAccount({ ...ACCOUNT, hookUrl: ferry.url('/hooks/whatsapp/inbox-1') })).id;
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test asserts the fields it expects
async function send(body: unknown, token = ACCOUNT.accessToken, phoneNumberId = ACCOUNT.phoneNumberId): Promise<{ status: number; body: any }> {
  const response = await fetch(`${sim.baseUrl}/v21.0/${phoneNumberId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: await response.json() };
}

const text = (to: string, body = 'Hi there', extra: Record<string, unknown> = {}) => ({ messaging_product: 'whatsapp', recipient_type: 'individual', to, type: 'text', text: { body }, ...extra });

function signatureOk(request: ReceivedRequest, secret = ACCOUNT.appSecret): boolean {
  return request.headers['x-hub-signature-256'] === `sha256=${createHmac('sha256', secret).update(request.body).digest('hex')}`;
}

const statusOf = (r: ReceivedRequest): string | undefined => JSON.parse(r.body.toString()).entry?.[0]?.changes?.[0]?.value?.statuses?.[0]?.status;

describe('WhatsApp Cloud API: auth and errors', () => {
  it('answers a wrong or missing bearer token 401 with the Graph OAuth error', async () => {
    for (const token of ['wrong-token', '']) {
      const res = await send(text('16505551234'), token);
      expect(res.status).toBe(401);
      expect(res.body.error).toMatchObject({ type: 'OAuthException', code: 190 });
      expect(res.body.error.message).toEqual(expect.any(String));
      expect(res.body.error.fbtrace_id).toEqual(expect.any(String));
    }
    expect((await sim.sent('whatsapp')).messages).toEqual([]);
  });

  it('answers a valid token on an unknown phone number id 400 (code 100, subcode 33)', async () => {
    const res = await send(text('16505551234'), ACCOUNT.accessToken, '999');
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 100, error_subcode: 33 });
  });

  it('answers a malformed request 400 code 100 with details', async () => {
    const res = await send({ to: '16505551234', type: 'text', text: { body: 'x' } });
    expect(res.status).toBe(400);
    expect(res.body.error.code).toBe(100);
    expect(res.body.error.error_data.details).toMatch(/messaging_product/);
    expect((await send({ messaging_product: 'whatsapp', to: '16505551234', type: 'text', text: {} })).body.error.code).toBe(100);
  });

  it('answers a scripted rate limit 429 with code 130429', async () => {
    await sim.inbound('whatsapp', { account: accountId, message: { from: '16505551234' } });
    await sim.behaviour('whatsapp', { mode: 'fail', failStatus: 429 });
    const res = await send(text('16505551234'));
    expect(res.status).toBe(429);
    expect(res.body.error.code).toBe(130429);
    await sim.behaviour('whatsapp', { mode: 'fail' });
    const down = await send(text('16505551234'));
    expect(down.status).toBe(503);
    expect((await sim.sent('whatsapp')).messages).toEqual([]);
  });
});

describe('WhatsApp 24-hour customer service window', () => {
  it('refuses free-form text to a user who never wrote: 400, code 131047', async () => {
    const res = await send(text('16505551234'));
    expect(res.status).toBe(400);
    expect(res.body.error).toMatchObject({ code: 131047, type: 'OAuthException' });
    expect(res.body.error.error_data.details).toMatch(/24 hours/);
  });

  it('accepts free-form text within 24 h of the user\'s last message, and refuses it after', async () => {
    await sim.inbound('whatsapp', { account: accountId, message: { from: '+1 650 555 1234', text: 'hello' } });
    const ok = await send(text('+16505551234'));
    expect(ok.status).toBe(200);
    expect(ok.body).toEqual({ messaging_product: 'whatsapp', contacts: [{ input: '+16505551234', wa_id: '16505551234' }], messages: [{ id: expect.stringMatching(/^wamid\./) }] });

    await sim.user('whatsapp', { account: accountId, user: '16505551234', lastInboundAt: Date.now() - 25 * 3600 * 1000 });
    expect((await send(text('16505551234'))).body.error.code).toBe(131047);
  });

  it('lets templates through outside the window', async () => {
    const res = await send({ messaging_product: 'whatsapp', to: '16505551234', type: 'template', template: { name: 'booking_update', language: { code: 'en_US' } } });
    expect(res.status).toBe(200);
    expect(res.body.messages[0]).toMatchObject({ id: expect.stringMatching(/^wamid\./), message_status: 'accepted' });
  });

  it('sends to a user known only by a business-scoped user id', async () => {
    const inbound = await sim.inbound('whatsapp', { account: accountId, message: { bsuid: 'US.13491208655302741918', text: 'no phone here' } });
    const payload = JSON.parse(inbound.payload as string);
    const value = payload.entry[0].changes[0].value;
    expect(value.contacts[0]).toEqual({ profile: { name: expect.any(String) }, user_id: 'US.13491208655302741918' });
    expect(value.messages[0]).not.toHaveProperty('from');
    expect(value.messages[0].from_user_id).toBe('US.13491208655302741918');
    const res = await send({ messaging_product: 'whatsapp', recipient: 'US.13491208655302741918', type: 'text', text: { body: 'hi' } });
    expect(res.status).toBe(200);
    expect(res.body.contacts).toEqual([{ input: 'US.13491208655302741918', user_id: 'US.13491208655302741918' }]);
  });
});

describe('WhatsApp webhooks to Ferry', () => {
  it('posts an inbound message in entry/changes/value form, signed with the app secret', async () => {
    const result = await sim.inbound('whatsapp', { account: accountId, message: { from: '16505551234', name: 'Sheena Nelson', text: 'Does it come in blue?' } });
    expect(result.status).toBe(200);
    expect(result.body).toBe('EVENT_RECEIVED');
    const [request] = ferry.requests;
    expect(request!.url).toBe('/hooks/whatsapp/inbox-1');
    expect(signatureOk(request!)).toBe(true);
    expect(signatureOk(request!, 'another-secret')).toBe(false);
    const body = JSON.parse(request!.body.toString());
    expect(body.object).toBe('whatsapp_business_account');
    const value = body.entry[0].changes[0].value;
    expect(body.entry[0].changes[0].field).toBe('messages');
    expect(value.metadata.phone_number_id).toBe(ACCOUNT.phoneNumberId);
    expect(value.contacts).toEqual([{ profile: { name: 'Sheena Nelson' }, wa_id: '16505551234' }]);
    expect(value.messages).toEqual([{ from: '16505551234', id: result.event['messageId'], timestamp: expect.stringMatching(/^\d{10}$/), type: 'text', text: { body: 'Does it come in blue?' } }]);
  });

  it('redelivers the identical event when asked (repeat)', async () => {
    const result = await sim.inbound('whatsapp', { account: accountId, message: { from: '16505551234' }, repeat: 2 });
    expect(result.deliveries.map((d) => d.status)).toEqual([200, 200, 200]);
    expect(ferry.requests).toHaveLength(3);
    expect(new Set(ferry.requests.map((r) => r.body.toString())).size).toBe(1);
  });

  it('answers the GET verification handshake with the verify token', async () => {
    ferry.respond((r) => ({ status: 200, body: new URL(r.url, 'http://x').searchParams.get('hub.challenge') ?? '' }));
    const result = await sim.handshake('whatsapp', { account: accountId });
    expect(result.echoed).toBe(true);
    const query = new URL(ferry.requests[0]!.url, 'http://x').searchParams;
    expect(ferry.requests[0]!.method).toBe('GET');
    expect(query.get('hub.mode')).toBe('subscribe');
    expect(query.get('hub.verify_token')).toBe('verify-me');
  });

  it('after accepting a message posts sent, delivered, read, signed, with biz_opaque_callback_data', async () => {
    await sim.inbound('whatsapp', { account: accountId, message: { from: '16505551234' } });
    ferry.clear();
    const res = await send(text('16505551234', 'Your tour starts at 9', { biz_opaque_callback_data: 'ferry-msg-1' }));
    const wamid = res.body.messages[0].id;
    const receipts = await ferry.waitFor((r) => statusOf(r) === 'read');
    expect(receipts).toHaveLength(1);
    expect(ferry.requests.map(statusOf)).toEqual(['sent', 'delivered', 'read']);
    for (const request of ferry.requests) {
      expect(signatureOk(request)).toBe(true);
      const status = JSON.parse(request.body.toString()).entry[0].changes[0].value.statuses[0];
      expect(status).toMatchObject({ id: wamid, recipient_id: '16505551234', biz_opaque_callback_data: 'ferry-msg-1', timestamp: expect.any(String) });
      expect(status.pricing).toMatchObject({ category: 'service' });
    }
    const sent = await sim.sent('whatsapp');
    expect(sent.messages).toHaveLength(1);
    expect(sent.messages[0]).toMatchObject({ providerMessageId: wamid, ferryMessageId: 'ferry-msg-1', to: '16505551234', text: 'Your tour starts at 9', deliveryCount: 1 });
    expect(sent.messages[0]!.receipts.map((r) => [r.status, r.httpStatus])).toEqual([
      ['sent', 200],
      ['delivered', 200],
      ['read', 200],
    ]);
  });

  it('retries a receipt Ferry refused until it is taken', async () => {
    await sim.inbound('whatsapp', { account: accountId, message: { from: '16505551234' } });
    let refusals = 2;
    ferry.respond(() => (refusals-- > 0 ? { status: 503, body: 'busy' } : { status: 200, body: 'ok' }));
    await sim.behaviour('whatsapp', { receipts: ['delivered'], receiptDelayMs: 0 });
    const res = await send(text('16505551234', 'hi', { biz_opaque_callback_data: 'ferry-msg-2' }));
    await ferry.waitFor((r) => statusOf(r) === 'delivered', 3);
    const [record] = (await sim.sent('whatsapp')).messages;
    expect(record!.providerMessageId).toBe(res.body.messages[0].id);
    expect(record!.receipts).toEqual([expect.objectContaining({ status: 'delivered', attempts: 3, httpStatus: 200 })]);
  });

  it('posts a failed status with the error code when scripted, and counts a message sent twice', async () => {
    await sim.inbound('whatsapp', { account: accountId, message: { from: '16505551234' } });
    await sim.behaviour('whatsapp', { receipts: ['failed'], receiptDelayMs: 0, receiptErrorCode: 131026 });
    await send(text('16505551234', 'one', { biz_opaque_callback_data: 'dup' }));
    await send(text('16505551234', 'one', { biz_opaque_callback_data: 'dup' }));
    const failed = await ferry.waitFor((r) => statusOf(r) === 'failed', 2);
    const status = JSON.parse(failed[0]!.body.toString()).entry[0].changes[0].value.statuses[0];
    expect(status.errors[0]).toMatchObject({ code: 131026, title: expect.any(String) });
    const sent = await sim.sent('whatsapp');
    expect(sent.deliveryCounts).toEqual({ dup: 2 });
    expect(sent.messages.map((m) => m.deliveryCount)).toEqual([2, 2]);
  });
});
