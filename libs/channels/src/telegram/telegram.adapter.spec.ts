import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '#domain';
import type { HookRequest, OutboundMessage } from '../channel-adapter.js';
import type { TelegramConfig } from '../config/channel-configs.js';
import { type FakeProvider, sendContext, startFakeProvider } from '../fake-provider-server.js';
import { TelegramAdapter } from './telegram.adapter.js';

const adapter = new TelegramAdapter();
const config: TelegramConfig = { botToken: '7012345678:AAHk3x9Qm2', secretToken: 'ferry_tg_9b1c2d3e' };

function post(body: unknown, secret: string | null = config.secretToken): HookRequest {
  return {
    method: 'POST',
    url: 'https://ferry.example/hooks/telegram/i1',
    query: {},
    headers: { 'content-type': 'application/json', 'x-telegram-bot-api-secret-token': secret ?? undefined },
    rawBody: Buffer.from(typeof body === 'string' ? body : JSON.stringify(body)),
    receivedAt: new Date('2026-03-01T12:00:00Z'),
  };
}

const from = { id: 551234567, is_bot: false, first_name: 'Somchai', last_name: 'K', username: 'somchai', language_code: 'th' };
const chat = { id: 551234567, type: 'private', first_name: 'Somchai', username: 'somchai' };
const update = (fields: Record<string, unknown>, key = 'message') => ({ update_id: 900001, [key]: { message_id: 42, from, chat, date: 1772366400, ...fields } });

async function parse(body: unknown) {
  return (await adapter.parse(post(body), config)).events;
}

describe('TelegramAdapter.verify', () => {
  it('accepts the secret token set with setWebhook', () => {
    expect(adapter.verify(post(update({ text: 'hi' })), config)).toEqual({ kind: 'verified' });
  });

  it('rejects a wrong, a longer, a shorter or a missing token, and a GET', () => {
    expect(adapter.verify(post(update({ text: 'hi' }), 'ferry_tg_9b1c2d3X'), config)).toMatchObject({ kind: 'rejected', code: 'hook.invalid_signature' });
    expect(adapter.verify(post(update({ text: 'hi' }), `${config.secretToken}x`), config)).toMatchObject({ kind: 'rejected' });
    expect(adapter.verify(post(update({ text: 'hi' }), 'ferry'), config)).toMatchObject({ kind: 'rejected' });
    expect(adapter.verify(post(update({ text: 'hi' }), null), config)).toMatchObject({ kind: 'rejected', reason: 'X-Telegram-Bot-Api-Secret-Token is missing' });
    expect(adapter.verify({ ...post({}), method: 'GET' }, config)).toMatchObject({ kind: 'rejected' });
  });

  it('rejects a token meant for another bot (the body itself is not signed: the token is the proof)', () => {
    expect(adapter.verify(post(update({ text: 'tampered' })), { ...config, secretToken: 'other_bot_secret' })).toMatchObject({ kind: 'rejected' });
  });
});

describe('TelegramAdapter.parse', () => {
  it('reads a text message from a private chat', async () => {
    expect(await parse(update({ text: 'Is the 9am boat on?' }))).toEqual([
      {
        kind: 'message',
        providerEventId: '900001',
        providerMessageId: '551234567:42',
        sender: { externalId: '551234567', name: 'Somchai K' },
        body: 'Is the 9am boat on?',
        attachments: [],
        occurredAt: new Date(1772366400 * 1000),
      },
    ]);
  });

  it.each([
    ['photo', { photo: [{ file_id: 'small', file_unique_id: 's', width: 90, height: 90 }, { file_id: 'big', file_unique_id: 'b', width: 1280, height: 960 }], caption: 'the pier' }, 'the pier', [{ kind: 'image', ref: 'big' }]],
    ['document', { document: { file_id: 'doc1', file_unique_id: 'd', file_name: 'ticket.pdf', mime_type: 'application/pdf' } }, '', [{ kind: 'file', ref: 'doc1', name: 'ticket.pdf', mimeType: 'application/pdf' }]],
    ['voice', { voice: { file_id: 'v1', file_unique_id: 'v', duration: 3, mime_type: 'audio/ogg' } }, '', [{ kind: 'audio', ref: 'v1', mimeType: 'audio/ogg' }]],
    ['location', { location: { latitude: 13.75, longitude: 100.5 } }, '', [{ kind: 'location', ref: '13.75,100.5' }]],
    ['contact', { contact: { phone_number: '66812345678', first_name: 'Nok' } }, 'Nok 66812345678', []],
  ])('reads a %s message', async (_kind, fields, body, attachments) => {
    const [event] = await parse(update(fields));
    expect(event).toMatchObject({ kind: 'message', providerEventId: '900001', body, attachments });
  });

  it("takes the phone of a user who shares their own contact", async () => {
    const [event] = await parse(update({ contact: { phone_number: '66812345678', first_name: 'Somchai', user_id: 551234567 } }));
    expect(event).toMatchObject({ sender: { externalId: '551234567', phone: '+66812345678' } });
    const [other] = await parse(update({ contact: { phone_number: '66899999999', first_name: 'Nok', user_id: 7 } }));
    expect(other).not.toHaveProperty('sender.phone');
  });

  it('reads an edited message as an edit of the original', async () => {
    const [event] = await parse(update({ text: 'Is the 10am boat on?', edit_date: 1772366460 }, 'edited_message'));
    expect(event).toMatchObject({
      kind: 'message',
      providerEventId: '900001',
      providerMessageId: '551234567:42:edit:1772366460',
      editOf: '551234567:42',
      body: 'Is the 10am boat on?',
      occurredAt: new Date(1772366460 * 1000),
    });
  });

  it('names a group by its chat id, and the writer by username when that is all there is', async () => {
    const [event] = await parse({ update_id: 5, message: { message_id: 1, from: { id: 9, is_bot: false, username: 'nok' }, chat: { id: -1001234, type: 'supergroup', title: 'Tour group' }, date: 1772366400, text: 'hi' } });
    expect(event).toMatchObject({ providerMessageId: '-1001234:1', sender: { externalId: '-1001234', name: 'nok' } });
  });

  it('answers other update kinds, and service messages, with no events', async () => {
    expect(await parse({ update_id: 7, callback_query: { id: 'q', from, data: 'x' } })).toEqual([]);
    expect(await parse({ update_id: 8, my_chat_member: { chat, from, date: 1 } })).toEqual([]);
    expect(await parse(update({ new_chat_members: [from] }))).toEqual([]);
  });

  it.each([
    ['not JSON', 'update_id=1'],
    ['no update_id', { message: { message_id: 1 } }],
    ['a string update_id', { update_id: '1', message: {} }],
    ['a message that is not an object', { update_id: 1, message: 'hi' }],
    ['a message without chat', { update_id: 1, message: { message_id: 1, date: 1, text: 'x' } }],
    ['a message without date', { update_id: 1, message: { message_id: 1, chat, text: 'x' } }],
    ['an empty photo list', update({ photo: [] })],
    ['a document without file_id', update({ document: { file_name: 'x' } })],
  ])('rejects %s as hook.malformed', async (_what, body) => {
    await expect(adapter.parse(post(body), config)).rejects.toSatisfy((e: unknown) => e instanceof DomainError && e.code === 'hook.malformed');
  });
});

describe('TelegramAdapter.send', () => {
  let provider: FakeProvider;
  const withProvider = () => ({ ...config, apiBaseUrl: provider.url });
  const text: OutboundMessage = { messageId: '0195f0a0-0000-7000-8000-000000000001', to: '551234567', body: 'Yes, 9am runs', statusCallbackUrl: 'https://ferry.example/x' };

  beforeAll(async () => {
    provider = await startFakeProvider();
  });
  afterAll(async () => {
    await provider.close();
  });
  beforeEach(() => {
    provider.calls.length = 0;
  });

  it('calls sendMessage and names the message chat:message_id', async () => {
    provider.answer(() => ({ status: 200, body: { ok: true, result: { message_id: 77, chat: { id: 551234567, type: 'private' }, date: 1772366400, text: 'Yes, 9am runs' } } }));
    expect(await adapter.send(text, withProvider(), sendContext())).toEqual({ ok: true, providerMessageId: '551234567:77', responseCode: '200' });
    expect(provider.calls[0]).toMatchObject({ method: 'POST', path: '/bot7012345678:AAHk3x9Qm2/sendMessage', json: { chat_id: '551234567', text: 'Yes, 9am runs' } });
  });

  it('sends a photo through sendPhoto', async () => {
    provider.answer(() => ({ status: 200, body: { ok: true, result: { message_id: 78, chat: { id: 551234567 } } } }));
    await adapter.send({ ...text, media: { kind: 'image', url: 'https://cdn.example/p.jpg', caption: 'the boat' } }, withProvider(), sendContext());
    expect(provider.calls[0]).toMatchObject({ path: '/bot7012345678:AAHk3x9Qm2/sendPhoto', json: { chat_id: '551234567', photo: 'https://cdn.example/p.jpg', caption: 'the boat' } });
  });

  it.each([
    [400, 'Bad Request: chat not found'],
    [403, 'Forbidden: bot was blocked by the user'],
    [401, 'Unauthorized'],
  ])('fails for good on %i %s', async (code, description) => {
    provider.answer(() => ({ status: code, body: { ok: false, error_code: code, description } }));
    expect(await adapter.send(text, withProvider(), sendContext())).toEqual({ ok: false, permanent: true, code: `telegram.${code}`, reason: description, responseCode: String(code) });
  });

  it('retries a 429 after parameters.retry_after', async () => {
    provider.answer(() => ({ status: 429, body: { ok: false, error_code: 429, description: 'Too Many Requests: retry after 14', parameters: { retry_after: 14 } } }));
    expect(await adapter.send(text, withProvider(), sendContext())).toEqual({
      ok: false,
      permanent: false,
      code: 'telegram.429',
      reason: 'Too Many Requests: retry after 14',
      responseCode: '429',
      retryAfterMs: 14_000,
    });
  });

  it('retries a 5xx, with or without a Telegram body', async () => {
    provider.answer(() => ({ status: 502, body: '<html>Bad Gateway</html>' }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: false, code: 'telegram.502' });
    provider.answer(() => ({ status: 500, body: { ok: false, error_code: 500, description: 'Internal Server Error' } }));
    expect(await adapter.send(text, withProvider(), sendContext())).toMatchObject({ ok: false, permanent: false, code: 'telegram.500' });
  });

  it('is transient when Telegram does not answer in time', async () => {
    provider.answer(() => ({ status: 200, hang: true }));
    expect(await adapter.send(text, withProvider(), sendContext(100))).toMatchObject({ ok: false, permanent: false, code: 'provider.timeout' });
  });
});
