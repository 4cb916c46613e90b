import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HookReceiver, SimulatorHarness } from '#testing';

let sim: SimulatorHarness;
let ferry: HookReceiver;
const BOT = '123456789:AAH-sim_token';
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
  accountId = (await sim.registerAccount({ channel: 'telegram', botToken: BOT, secretToken: 'tg-secret_1', hookUrl: ferry.url('/hooks/telegram/inbox-1') })).id;
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test asserts the fields it expects
async function sendMessage(params: Record<string, unknown>, token = BOT, form = false): Promise<{ status: number; body: any }> {
  const response = await fetch(`${sim.baseUrl}/bot${token}/sendMessage`, {
    method: 'POST',
    headers: { 'content-type': form ? 'application/x-www-form-urlencoded' : 'application/json' },
    body: form ? new URLSearchParams(params as Record<string, string>).toString() : JSON.stringify(params),
  });
  return { status: response.status, body: await response.json() };
}

describe('Telegram Bot API sendMessage', () => {
  it('answers an unknown bot token 401 Unauthorized', async () => {
    const res = await sendMessage({ chat_id: 42, text: 'hi' }, '999:nope');
    expect(res.status).toBe(401);
    expect(res.body).toEqual({ ok: false, error_code: 401, description: 'Unauthorized' });
  });

  it('sends, as JSON or as a form, and answers the Message', async () => {
    const res = await sendMessage({ chat_id: 7001, text: 'Your guide is on the way' });
    expect(res.status).toBe(200);
    expect(res.body).toEqual({
      ok: true,
      result: { message_id: 1, from: expect.objectContaining({ id: 123456789, is_bot: true }), chat: { id: 7001, type: 'private' }, date: expect.any(Number), text: 'Your guide is on the way' },
    });
    const form = await sendMessage({ chat_id: '7001', text: 'second' }, BOT, true);
    expect(form.body.result.message_id).toBe(2);
    expect((await sim.sent('telegram')).messages.map((m) => [m.to, m.text, m.providerMessageId])).toEqual([
      ['7001', 'Your guide is on the way', '1'],
      ['7001', 'second', '2'],
    ]);
  });

  it('refuses a blocked chat with 403, and empty fields with 400', async () => {
    await sim.user('telegram', { account: accountId, user: '7001', blocked: true });
    const blocked = await sendMessage({ chat_id: 7001, text: 'hi' });
    expect(blocked.status).toBe(403);
    expect(blocked.body).toEqual({ ok: false, error_code: 403, description: 'Forbidden: bot was blocked by the user' });
    expect((await sendMessage({ chat_id: 7002, text: '' })).body.description).toBe('Bad Request: message text is empty');
    expect((await sendMessage({ text: 'x' })).body.description).toBe('Bad Request: chat_id is empty');
    expect((await sim.sent('telegram')).messages).toEqual([]);
  });

  it('answers a scripted rate limit with retry_after', async () => {
    await sim.behaviour('telegram', { mode: 'fail', failStatus: 429 });
    const res = await sendMessage({ chat_id: 7001, text: 'hi' });
    expect(res.status).toBe(429);
    expect(res.body).toMatchObject({ ok: false, error_code: 429, parameters: { retry_after: expect.any(Number) } });
  });
});

describe('Telegram webhook Updates', () => {
  it('posts an Update with the secret token header', async () => {
    const result = await sim.inbound('telegram', { account: accountId, message: { from: '55501', name: 'Somchai', username: 'somchai', text: '/start' } });
    expect(result.status).toBe(200);
    const request = ferry.requests[0]!;
    expect(request.headers['x-telegram-bot-api-secret-token']).toBe('tg-secret_1');
    const update = JSON.parse(request.body.toString());
    expect(update).toEqual({
      update_id: result.event['updateId'],
      message: {
        message_id: 1,
        from: { id: 55501, is_bot: false, first_name: 'Somchai', username: 'somchai', language_code: 'en' },
        chat: { id: 55501, first_name: 'Somchai', username: 'somchai', type: 'private' },
        date: expect.any(Number),
        text: '/start',
      },
    });
  });

  it('posts edits as edited_message with the original message id, under a new update id', async () => {
    const first = await sim.inbound('telegram', { account: accountId, message: { from: '55501', text: 'typo' } });
    const edit = await sim.inbound('telegram', { account: accountId, message: { from: '55501', text: 'fixed', editOf: String(first.event['messageId']) } });
    const update = JSON.parse(ferry.requests[1]!.body.toString());
    expect(update.update_id).toBe(Number(first.event['updateId']) + 1);
    expect(update.edited_message).toMatchObject({ message_id: first.event['messageId'], text: 'fixed', edit_date: expect.any(Number) });
    expect(edit.event['messageId']).toBe(first.event['messageId']);
  });
});
