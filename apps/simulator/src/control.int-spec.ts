import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HookReceiver, type ReceivedRequest, SimulatorError, SimulatorHarness } from '#testing';

// The behaviour modes and records are shared by every provider; WhatsApp and Telegram stand in here.
let sim: SimulatorHarness;
let ferry: HookReceiver;
const WA = { channel: 'whatsapp' as const, phoneNumberId: '1065', accessToken: 'wa-token', appSecret: 'wa-secret' };
let waId: string;

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
  waId = (await sim.registerAccount({ ...WA, hookUrl: ferry.url('/hooks/whatsapp/x') })).id;
  await sim.registerAccount({ channel: 'telegram', botToken: '42:tg' });
  await sim.user('whatsapp', { account: waId, user: '16505551234', lastInboundAt: Date.now() });
});

function waSend(tag: string): Promise<Response> {
  return fetch(`${sim.baseUrl}/v21.0/${WA.phoneNumberId}/messages`, {
    method: 'POST',
    headers: { authorization: `Bearer ${WA.accessToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ messaging_product: 'whatsapp', to: '16505551234', type: 'text', text: { body: tag }, biz_opaque_callback_data: tag }),
  });
}

const tgSend = (text: string): Promise<Response> =>
  fetch(`${sim.baseUrl}/bot42:tg/sendMessage`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ chat_id: 1, text }) });

const receiptOf = (r: ReceivedRequest): { data: string; status: string } => {
  const status = JSON.parse(r.body.toString()).entry[0].changes[0].value.statuses[0];
  return { data: status.biz_opaque_callback_data, status: status.status };
};

describe('behaviour modes', () => {
  it('ok by default; fail answers every call with a transient error and records nothing', async () => {
    expect(await sim.call('GET', '/_sim/whatsapp/behaviour')).toMatchObject({ mode: 'ok' });
    await sim.behaviour('telegram', { mode: 'fail' });
    expect((await tgSend('a')).status).toBe(502);
    expect((await tgSend('b')).status).toBe(502);
    expect((await sim.sent('telegram')).messages).toEqual([]);
  });

  it('fail-half fails every other call', async () => {
    await sim.behaviour('telegram', { mode: 'fail-half' });
    const statuses = [];
    for (const text of ['1', '2', '3', '4']) statuses.push((await tgSend(text)).status);
    expect(statuses).toEqual([502, 200, 502, 200]);
    expect((await sim.sent('telegram')).messages.map((m) => m.text)).toEqual(['2', '4']);
  });

  it('slow still answers, after the delay it was given', async () => {
    const behaviour = await sim.behaviour('telegram', { mode: 'slow', delayMs: 50 });
    expect(behaviour).toMatchObject({ mode: 'slow', delayMs: 50 });
    expect((await tgSend('slowly')).status).toBe(200);
    expect((await sim.sent('telegram')).messages).toHaveLength(1);
  });

  it('silent accepts but posts no receipts', async () => {
    await sim.behaviour('whatsapp', { mode: 'silent', receiptDelayMs: 0 });
    expect((await waSend('quiet')).status).toBe(200);
    await sim.behaviour('whatsapp', { mode: 'ok', receiptDelayMs: 0 });
    expect((await waSend('loud')).status).toBe(200);
    // Receipts go out in the order their sends were accepted: once the later message is read, the earlier would have been too.
    await ferry.waitFor((r) => receiptOf(r).data === 'loud' && receiptOf(r).status === 'read');
    expect(ferry.requests.map((r) => receiptOf(r).data)).toEqual(['loud', 'loud', 'loud']);
    const sent = await sim.sent('whatsapp');
    expect(sent.messages.map((m) => [m.ferryMessageId, m.receipts.length])).toEqual([
      ['quiet', 0],
      ['loud', 3],
    ]);
  });

  it('lost-response keeps the message and its receipts but drops the connection', async () => {
    await sim.behaviour('whatsapp', { mode: 'lost-response', receiptDelayMs: 0 });
    await expect(waSend('in-doubt')).rejects.toThrow();
    await ferry.waitFor((r) => receiptOf(r).status === 'read');
    expect((await sim.sent('whatsapp')).deliveryCounts).toEqual({ 'in-doubt': 1 });
  });

  it('refuses an unknown mode, a bad failStatus and receipts a provider does not send', async () => {
    await expect(sim.behaviour('whatsapp', { mode: 'sometimes' as never })).rejects.toMatchObject({ status: 400 });
    await expect(sim.behaviour('whatsapp', { mode: 'fail', failStatus: 200 })).rejects.toMatchObject({ status: 400 });
    await expect(sim.behaviour('telegram', { receipts: ['read'] })).rejects.toMatchObject({ status: 400 });
  });
});

describe('accounts, records and reset', () => {
  it('updates an account registered again with the same credential, keeping its id', async () => {
    const again = await sim.registerAccount({ ...WA, accessToken: 'rotated' });
    expect(again.id).toBe(waId);
    expect(again).toMatchObject({ accessToken: 'rotated', hookUrl: ferry.url('/hooks/whatsapp/x') });
    expect((await waSend('old-token')).status).toBe(401);
  });

  it('refuses an account without its credentials, and an unknown provider', async () => {
    const error = await sim.registerAccount({ channel: 'whatsapp', phoneNumberId: '1' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SimulatorError);
    expect((error as SimulatorError).body).toEqual({ error: 'accessToken is required' });
    await expect(sim.call('GET', '/_sim/pigeon/sent')).rejects.toMatchObject({ status: 400 });
    await expect(sim.inbound('whatsapp', { account: 'whatsapp_missing' })).rejects.toMatchObject({ status: 400 });
  });

  it('reports unreachable hooks as status 0 instead of failing', async () => {
    const result = await sim.inbound('telegram', { account: { botToken: '42:tg', hookUrl: 'http://127.0.0.1:9/hooks/telegram/x' } });
    expect(result.status).toBe(0);
    expect(result.body).toEqual({ error: expect.any(String) });
  });

  it('reset forgets accounts, records and behaviour', async () => {
    await tgSend('before reset');
    await sim.behaviour('telegram', { mode: 'fail' });
    expect((await sim.sent('telegram')).messages).toHaveLength(1);
    await sim.reset();
    expect((await sim.sent('telegram')).messages).toEqual([]);
    expect(await sim.call('GET', '/_sim/telegram/behaviour')).toMatchObject({ mode: 'ok' });
    expect((await sim.call('GET', '/_sim/accounts')).accounts).toEqual([]);
    expect((await tgSend('after reset')).status).toBe(401);
  });
});
