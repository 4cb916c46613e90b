import twilio from 'twilio';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HookReceiver, type ReceivedRequest, SimulatorHarness } from '#testing';

let sim: SimulatorHarness;
let ferry: HookReceiver;
const SID = 'AC0123456789abcdef0123456789abcdef';
const TOKEN = 'twilio-auth-token';
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
  ferry.respond(() => ({ status: 200, body: '<Response/>', contentType: 'text/xml' }));
  accountId = (await sim.registerAccount({ channel: 'twilio', accountSid: SID, authToken: TOKEN, fromNumber: '+15005550006', hookUrl: ferry.url('/hooks/sms/inbox-1') })).id;
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test asserts the fields it expects
async function createMessage(form: Record<string, string>, auth = `${SID}:${TOKEN}`, sid = SID): Promise<{ status: number; body: any }> {
  const response = await fetch(`${sim.baseUrl}/2010-04-01/Accounts/${sid}/Messages.json`, {
    method: 'POST',
    headers: { authorization: `Basic ${Buffer.from(auth).toString('base64')}`, 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form).toString(),
  });
  return { status: response.status, body: await response.json() };
}

const paramsOf = (r: ReceivedRequest): Record<string, string> => Object.fromEntries(new URLSearchParams(r.body.toString()));
/** What Ferry would check: the signature over the URL it was called on, with the `twilio` package's own validator. */
const valid = (r: ReceivedRequest, token = TOKEN): boolean => twilio.validateRequest(token, String(r.headers['x-twilio-signature']), ferry.url(r.url), paramsOf(r));

describe('Twilio Messages API', () => {
  it('answers bad or missing credentials 401 with code 20003', async () => {
    for (const auth of [`${SID}:wrong`, 'ACnobody:x']) {
      const res = await createMessage({ To: '+14155550100', From: '+15005550006', Body: 'hi' }, auth);
      expect(res.status).toBe(401);
      expect(res.body).toEqual({ code: 20003, message: 'Authenticate', more_info: 'https://www.twilio.com/docs/errors/20003', status: 401 });
    }
    const none = await fetch(`${sim.baseUrl}/2010-04-01/Accounts/${SID}/Messages.json`, { method: 'POST', body: 'To=%2B1' });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Basic/);
  });

  it('answers an invalid To 400 with code 21211, and missing fields with their codes', async () => {
    const bad = await createMessage({ To: '555-0100', From: '+15005550006', Body: 'hi' });
    expect(bad.status).toBe(400);
    expect(bad.body).toMatchObject({ code: 21211, status: 400, message: expect.stringContaining('555-0100') });
    expect((await createMessage({ From: '+15005550006', Body: 'hi' })).body.code).toBe(21604);
    expect((await createMessage({ To: '+14155550100', Body: 'hi' })).body.code).toBe(21603);
    expect((await createMessage({ To: '+14155550100', From: '+15005550006' })).body.code).toBe(21602);
    expect((await sim.sent('sms')).messages).toEqual([]);
  });

  it('creates a message: 201 with the message resource, status queued', async () => {
    const res = await createMessage({ To: '+14155550100', From: '+15005550006', Body: 'Your pickup is at 8' });
    expect(res.status).toBe(201);
    expect(res.body).toMatchObject({
      sid: expect.stringMatching(/^SM[0-9a-f]{32}$/),
      account_sid: SID,
      to: '+14155550100',
      from: '+15005550006',
      body: 'Your pickup is at 8',
      status: 'queued',
      direction: 'outbound-api',
      api_version: '2010-04-01',
      error_code: null,
    });
    expect(res.body.uri).toBe(`/2010-04-01/Accounts/${SID}/Messages/${res.body.sid}.json`);
  });

  it('posts sent then delivered to the StatusCallback, signed over that exact URL', async () => {
    const callback = ferry.url('/hooks/sms/inbox-1?messageId=0190a5b2-0000-7000-8000-000000000001');
    const res = await createMessage({ To: '+14155550100', MessagingServiceSid: 'MG0123456789abcdef0123456789abcdef', Body: 'hi', StatusCallback: callback });
    expect(res.body.status).toBe('accepted');
    const [delivered] = await ferry.waitFor((r) => paramsOf(r)['MessageStatus'] === 'delivered');
    expect(ferry.requests.map((r) => paramsOf(r)['MessageStatus'])).toEqual(['sent', 'delivered']);
    for (const request of ferry.requests) {
      expect(request.url).toBe('/hooks/sms/inbox-1?messageId=0190a5b2-0000-7000-8000-000000000001');
      expect(valid(request)).toBe(true);
      expect(valid(request, 'other-token')).toBe(false);
    }
    expect(paramsOf(delivered!)).toMatchObject({ MessageSid: res.body.sid, SmsSid: res.body.sid, AccountSid: SID, To: '+14155550100', MessagingServiceSid: 'MG0123456789abcdef0123456789abcdef', ApiVersion: '2010-04-01' });
    const sent = await sim.sent('twilio');
    expect(sent.messages[0]).toMatchObject({ providerMessageId: res.body.sid, ferryMessageId: '0190a5b2-0000-7000-8000-000000000001', deliveryCount: 1 });
  });

  it('a tampered callback no longer validates', async () => {
    await createMessage({ To: '+14155550100', From: '+15005550006', Body: 'hi', StatusCallback: ferry.url('/cb?messageId=m1') });
    const [request] = await ferry.waitFor(() => true);
    const tampered = { ...request!, body: Buffer.from(request!.body.toString().replace('MessageStatus=sent', 'MessageStatus=delivered')) };
    expect(valid(request!)).toBe(true);
    expect(valid(tampered)).toBe(false);
  });

  it('posts undelivered with ErrorCode 30003 when scripted', async () => {
    await sim.behaviour('sms', { receipts: ['sent', 'undelivered'], receiptDelayMs: 0 });
    await createMessage({ To: '+14155550100', From: '+15005550006', Body: 'hi', StatusCallback: ferry.url('/cb?messageId=m2') });
    const [undelivered] = await ferry.waitFor((r) => paramsOf(r)['MessageStatus'] === 'undelivered');
    expect(paramsOf(undelivered!)['ErrorCode']).toBe('30003');
    expect(valid(undelivered!)).toBe(true);
  });

  it('posts a receipt again on demand (late or duplicate callbacks)', async () => {
    await sim.behaviour('sms', { mode: 'silent' });
    const res = await createMessage({ To: '+14155550100', From: '+15005550006', Body: 'hi', StatusCallback: ferry.url('/cb?messageId=m3') });
    const again = await sim.receipt('twilio', { providerMessageId: res.body.sid, status: 'delivered', repeat: 1 });
    expect(again.deliveries.map((d) => d.status)).toEqual([200, 200]);
    expect(ferry.requests.map((r) => paramsOf(r)['MessageStatus'])).toEqual(['delivered', 'delivered']);
    expect(ferry.requests.every((r) => valid(r))).toBe(true);
  });
});

describe('Twilio incoming message webhook', () => {
  it('posts the form Twilio sends, with a signature the twilio package accepts', async () => {
    const result = await sim.inbound('twilio', { account: accountId, message: { from: '+14155550199', text: 'Is the boat on time?' } });
    expect(result.status).toBe(200);
    expect(result.body).toBe('<Response/>');
    const request = ferry.requests[0]!;
    expect(request.headers['content-type']).toMatch(/^application\/x-www-form-urlencoded/);
    expect(valid(request)).toBe(true);
    expect(paramsOf(request)).toMatchObject({ From: '+14155550199', To: '+15005550006', Body: 'Is the boat on time?', AccountSid: SID, SmsStatus: 'received', NumMedia: '0', MessageSid: expect.stringMatching(/^SM[0-9a-f]{32}$/) });
    expect(paramsOf(request)['MessageSid']).toBe(result.event['messageSid']);
  });
});
