import { createHmac, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HookReceiver, type ReceivedRequest, SimulatorHarness } from '#testing';

let sim: SimulatorHarness;
let ferry: HookReceiver;
const ACCOUNT = { channel: 'line' as const, channelSecret: 'line-channel-secret', channelAccessToken: 'line-access-token' };
const USER = `U${'4af4980629'.padEnd(32, '0')}`;
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
  accountId = (await sim.registerAccount({ ...ACCOUNT, hookUrl: ferry.url('/hooks/line/inbox-1') })).id;
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test asserts the fields it expects
async function call(kind: 'push' | 'reply', body: unknown, headers: Record<string, string> = {}, token = ACCOUNT.channelAccessToken): Promise<{ status: number; headers: Headers; body: any }> {
  const response = await fetch(`${sim.baseUrl}/v2/bot/message/${kind}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', ...headers },
    body: JSON.stringify(body),
  });
  return { status: response.status, headers: response.headers, body: await response.json() };
}

const push = (text: string, to = USER) => ({ to, messages: [{ type: 'text', text }] });
const signatureOk = (r: ReceivedRequest): boolean => r.headers['x-line-signature'] === createHmac('sha256', ACCOUNT.channelSecret).update(r.body).digest('base64');

describe('LINE Messaging API: push', () => {
  it('answers a bad channel access token 401', async () => {
    const res = await call('push', push('hi'), {}, 'wrong');
    expect(res.status).toBe(401);
    expect(res.body.message).toMatch(/^Authentication failed/);
  });

  it('pushes with a request id header and answers sentMessages', async () => {
    const res = await call('push', push('Your boat leaves at 10'));
    expect(res.status).toBe(200);
    expect(res.headers.get('x-line-request-id')).toMatch(/^[0-9a-f-]{36}$/);
    expect(res.body).toEqual({ sentMessages: [{ id: expect.stringMatching(/^\d{18}$/), quoteToken: expect.any(String) }] });
    expect((await call('push', push('x', 'not-a-user'))).status).toBe(400);
  });

  it('honours X-Line-Retry-Key: the same key again is 409 with the accepted request id, and not delivered twice', async () => {
    const key = randomUUID();
    const first = await call('push', push('once only'), { 'x-line-retry-key': key });
    expect(first.status).toBe(200);
    const again = await call('push', push('once only'), { 'x-line-retry-key': key });
    expect(again.status).toBe(409);
    expect(again.headers.get('x-line-accepted-request-id')).toBe(first.headers.get('x-line-request-id'));
    expect(again.body.message).toBe('The retry key is already accepted');
    const sent = await sim.sent('line');
    expect(sent.messages).toHaveLength(1);
    expect(sent.messages[0]).toMatchObject({ ferryMessageId: key, to: USER, type: 'push', text: 'once only', deliveryCount: 1 });
    expect(sent.deliveryCounts).toEqual({ [key]: 1 });
  });

  it('does not spend a retry key on a failed call, and refuses malformed keys', async () => {
    const key = randomUUID();
    await sim.behaviour('line', { mode: 'fail' });
    expect((await call('push', push('hi'), { 'x-line-retry-key': key })).status).toBe(500);
    await sim.behaviour('line', { mode: 'ok' });
    expect((await call('push', push('hi'), { 'x-line-retry-key': key })).status).toBe(200);
    expect((await call('push', push('hi'), { 'x-line-retry-key': 'not-a-uuid' })).status).toBe(400);
  });

  it('keeps the message of a call whose answer was lost, so the retry gets 409', async () => {
    const key = randomUUID();
    await sim.behaviour('line', { mode: 'lost-response' });
    await expect(call('push', push('in doubt'), { 'x-line-retry-key': key })).rejects.toThrow();
    await sim.behaviour('line', { mode: 'ok' });
    expect((await call('push', push('in doubt'), { 'x-line-retry-key': key })).status).toBe(409);
    expect((await sim.sent('line')).deliveryCounts).toEqual({ [key]: 1 });
  });
});

describe('LINE webhooks and reply tokens', () => {
  it('posts a signed message event whose reply token works once', async () => {
    const result = await sim.inbound('line', { account: accountId, message: { from: USER, text: 'Sawasdee' } });
    expect(result.status).toBe(200);
    const request = ferry.requests[0]!;
    expect(signatureOk(request)).toBe(true);
    const body = JSON.parse(request.body.toString());
    expect(body.events[0]).toMatchObject({
      type: 'message',
      source: { type: 'user', userId: USER },
      replyToken: result.event['replyToken'],
      deliveryContext: { isRedelivery: false },
      message: { type: 'text', text: 'Sawasdee', id: result.event['messageId'] },
    });
    const replyToken = String(result.event['replyToken']);
    const reply = await call('reply', { replyToken, messages: [{ type: 'text', text: 'Welcome' }] });
    expect(reply.status).toBe(200);
    const reused = await call('reply', { replyToken, messages: [{ type: 'text', text: 'Welcome again' }] });
    expect(reused.status).toBe(400);
    expect(reused.body).toEqual({ message: 'Invalid reply token' });
    expect((await sim.sent('line')).messages.map((m) => [m.type, m.to, m.text])).toEqual([['reply', USER, 'Welcome']]);
  });

  it('refuses an expired or unknown reply token, and a retry key on reply', async () => {
    const result = await sim.inbound('line', { account: accountId, message: { from: USER, replyTokenTtlMs: 0 } });
    expect((await call('reply', { replyToken: result.event['replyToken'], messages: [{ type: 'text', text: 'late' }] })).body).toEqual({ message: 'Invalid reply token' });
    expect((await call('reply', { replyToken: 'nope', messages: [{ type: 'text', text: 'x' }] })).status).toBe(400);
    const fresh = await sim.inbound('line', { account: accountId, message: { from: USER } });
    expect((await call('reply', { replyToken: fresh.event['replyToken'], messages: [{ type: 'text', text: 'x' }] }, { 'x-line-retry-key': randomUUID() })).status).toBe(400);
  });

  it('redelivers the same event flagged isRedelivery, signed again', async () => {
    await sim.inbound('line', { account: accountId, message: { from: USER }, repeat: true });
    const [first, second] = ferry.requests.map((r) => JSON.parse(r.body.toString()).events[0]);
    expect(second.webhookEventId).toBe(first.webhookEventId);
    expect([first.deliveryContext.isRedelivery, second.deliveryContext.isRedelivery]).toEqual([false, true]);
    expect(ferry.requests.every(signatureOk)).toBe(true);
  });
});
