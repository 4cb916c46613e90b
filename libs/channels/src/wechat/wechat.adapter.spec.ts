import { createDecipheriv } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { DomainError } from '#domain';
import type { ContactEvent, HookRequest, InboundMessageEvent, OutboundMessage, SendContext, TokenCache } from '../channel-adapter.js';
import type { WechatConfig } from '../config/channel-configs.js';
import { type FakeProvider, type ScriptedAnswer, startFakeProvider, TEST_GUARD } from '../fake-provider-server.js';
import { WechatAdapter } from './wechat.adapter.js';
import { tokenCacheKey } from './wechat-api.js';
import { aesKeyOf, wechatDecrypt, wechatEncrypt, wechatEncryptedPush, wechatEncryptedReply, wechatSignature } from './wechat-crypto.js';

const PLAIN: WechatConfig = { appId: 'wx8f2c1e4a7b9d3f60', appSecret: 'app-secret-1', token: 'ferryToken2024' };
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const SAFE: WechatConfig = { ...PLAIN, encodingAesKey: AES_KEY };
const adapter = new WechatAdapter();
const OPENID = 'oUpF8uMuAJO_M2pxb1Q9zNjWeS6o';

function hook(method: 'GET' | 'POST', query: Record<string, string>, body = ''): HookRequest {
  const search = new URLSearchParams(query).toString();
  return { method, url: `https://ferry.example/hooks/wechat/inbox-1?${search}`, query, headers: { 'content-type': 'text/xml' }, rawBody: Buffer.from(body, 'utf8'), receivedAt: new Date() };
}

function signedQuery(token = PLAIN.token, timestamp = '1714000000', nonce = '1320562132'): Record<string, string> {
  return { signature: wechatSignature([token, timestamp, nonce]), timestamp, nonce, openid: OPENID };
}

function xml(fields: Record<string, string>): string {
  return `<xml>${Object.entries(fields).map(([k, v]) => (/^\d+$/.test(v) ? `<${k}>${v}</${k}>` : `<${k}><![CDATA[${v}]]></${k}>`)).join('\n')}</xml>`;
}

const base = { ToUserName: 'gh_3c884a361561', FromUserName: OPENID, CreateTime: '1714000000' };
const TEXT = xml({ ...base, MsgType: 'text', Content: '你好, is the 9am tour still on? ', MsgId: '24512345678901234567' });

function safePush(message: string, config: WechatConfig = SAFE) {
  const push = wechatEncryptedPush(message, { token: config.token, encodingAesKey: AES_KEY, appId: config.appId, toUserName: base.ToUserName, timestamp: '1714000001', nonce: 'n0nce' });
  return hook('POST', push.query, push.body);
}

async function parseOne(message: string) {
  const { events, reply } = await adapter.parse(hook('POST', signedQuery(), message), PLAIN);
  expect(reply).toEqual({ status: 200, contentType: 'text/plain', body: 'success' });
  return events;
}

async function expectMalformed(promise: Promise<unknown>): Promise<void> {
  const error = await promise.then(() => null, (e: unknown) => e);
  expect(error).toBeInstanceOf(DomainError);
  expect((error as DomainError).code).toBe('hook.malformed');
}

describe('wechat crypto', () => {
  it('pads to 32-byte blocks, uses key[0..16] as IV and frames random(16) + length(4, BE) + msg + AppId', () => {
    const random = Buffer.alloc(16, 7);
    const encrypted = wechatEncrypt('<xml>hi</xml>', AES_KEY, PLAIN.appId, random);
    const data = Buffer.from(encrypted, 'base64');
    expect(data.length % 32).toBe(0);
    const key = Buffer.from(`${AES_KEY}=`, 'base64');
    const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
    decipher.setAutoPadding(false);
    const plain = Buffer.concat([decipher.update(data), decipher.final()]);
    const pad = plain[plain.length - 1]!;
    expect(plain.subarray(plain.length - pad).every((b) => b === pad)).toBe(true);
    expect(plain.subarray(0, 16)).toEqual(random);
    expect(plain.readUInt32BE(16)).toBe(Buffer.byteLength('<xml>hi</xml>'));
    expect(plain.subarray(20, plain.length - pad).toString()).toBe(`<xml>hi</xml>${PLAIN.appId}`);
    expect(wechatDecrypt(encrypted, AES_KEY)).toEqual({ message: '<xml>hi</xml>', appId: PLAIN.appId });
  });

  it('pads with k = 32 (a 16-byte block cipher would pad less)', () => {
    // 16 + 4 + 31 + 18 (AppId) = 69 bytes: PKCS#7 to 32 gives 96 bytes, to 16 would give 80.
    expect(Buffer.from(wechatEncrypt('x'.repeat(31), AES_KEY, PLAIN.appId), 'base64')).toHaveLength(96);
    // 64 bytes exactly: a whole block of padding (32 x 0x20) is added.
    expect(Buffer.from(wechatEncrypt('x'.repeat(26), AES_KEY, PLAIN.appId), 'base64')).toHaveLength(96);
  });

  it('round-trips multibyte messages of every padding length', () => {
    for (let n = 0; n < 40; n++) {
      const message = `消息${'x'.repeat(n)}`;
      expect(wechatDecrypt(wechatEncrypt(message, AES_KEY, PLAIN.appId), AES_KEY).message).toBe(message);
    }
  });

  it('refuses a key that is not 43 characters', () => {
    expect(() => aesKeyOf('short')).toThrow();
  });

  it('signs sorted parts with sha1 (the documented example order)', () => {
    expect(wechatSignature(['b', 'a', 'c'])).toBe(wechatSignature(['a', 'b', 'c']));
    expect(wechatSignature(['a', 'b', 'c'])).toBe('a9993e364706816aba3e25717850c26c9cd0d89d'); // sha1('abc')
  });

  it('builds a signed encrypted reply whose Encrypt decrypts to the reply', () => {
    const reply = wechatEncryptedReply('<xml><Content>ok</Content></xml>', { token: SAFE.token, encodingAesKey: AES_KEY, appId: SAFE.appId, timestamp: '1', nonce: 'n' });
    const encrypted = /<Encrypt><!\[CDATA\[(.+?)\]\]>/.exec(reply)![1]!;
    expect(reply).toContain(`<MsgSignature><![CDATA[${wechatSignature([SAFE.token, '1', 'n', encrypted])}]]>`);
    expect(wechatDecrypt(encrypted, AES_KEY).message).toBe('<xml><Content>ok</Content></xml>');
  });
});

describe('wechat verify', () => {
  it('answers the plaintext echo handshake with echostr as text/plain', () => {
    const outcome = adapter.verify(hook('GET', { ...signedQuery(), echostr: '7461290382615474' }), PLAIN);
    expect(outcome).toEqual({ kind: 'handshake', reply: { status: 200, contentType: 'text/plain', body: '7461290382615474' } });
  });

  it('rejects an echo signed with another token, or with a tampered timestamp', () => {
    expect(adapter.verify(hook('GET', { ...signedQuery('otherToken'), echostr: '1' }), PLAIN)).toMatchObject({ kind: 'rejected', code: 'hook.invalid_signature' });
    expect(adapter.verify(hook('GET', { ...signedQuery(), timestamp: '1714000009', echostr: '1' }), PLAIN)).toMatchObject({ kind: 'rejected' });
    expect(adapter.verify(hook('GET', { timestamp: '1', nonce: '2', echostr: '1' }), PLAIN)).toMatchObject({ kind: 'rejected' });
  });

  it('answers the safe-mode echo handshake with the decrypted echostr', () => {
    const encrypted = wechatEncrypt('5927782489442352469', AES_KEY, SAFE.appId);
    const query = { timestamp: '1409659589', nonce: '263014780', echostr: encrypted, msg_signature: wechatSignature([SAFE.token, '1409659589', '263014780', encrypted]) };
    expect(adapter.verify(hook('GET', query), SAFE)).toEqual({ kind: 'handshake', reply: { status: 200, contentType: 'text/plain', body: '5927782489442352469' } });
    expect(adapter.verify(hook('GET', { ...query, msg_signature: wechatSignature(['wrong', '1409659589', '263014780', encrypted]) }), SAFE)).toMatchObject({ kind: 'rejected' });
    const foreign = wechatEncrypt('5927782489442352469', AES_KEY, 'wxsomeoneelse');
    expect(adapter.verify(hook('GET', { ...query, echostr: foreign, msg_signature: wechatSignature([SAFE.token, '1409659589', '263014780', foreign]) }), SAFE)).toMatchObject({
      kind: 'rejected',
      reason: expect.stringContaining('another AppId'),
    });
  });

  it('accepts a plaintext push signed with the token and rejects a wrong token', () => {
    expect(adapter.verify(hook('POST', signedQuery(), TEXT), PLAIN)).toEqual({ kind: 'verified' });
    expect(adapter.verify(hook('POST', signedQuery('wrongToken'), TEXT), PLAIN)).toMatchObject({ kind: 'rejected', code: 'hook.invalid_signature' });
    expect(adapter.verify(hook('POST', { ...signedQuery(), signature: 'A'.repeat(40) }, TEXT), PLAIN)).toMatchObject({ kind: 'rejected' });
  });

  it('in safe mode checks msg_signature over the <Encrypt> value: a tampered body is rejected', () => {
    const request = safePush(TEXT);
    expect(adapter.verify(request, SAFE)).toEqual({ kind: 'verified' });
    const body = request.rawBody.toString();
    const encrypted = /<Encrypt><!\[CDATA\[(.+?)\]\]>/.exec(body)![1]!;
    const other = wechatEncrypt(TEXT.replace('9am', '5pm'), AES_KEY, SAFE.appId);
    const tampered = { ...request, rawBody: Buffer.from(body.replace(encrypted, other)) };
    expect(adapter.verify(tampered, SAFE)).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('msg_signature') });
    expect(adapter.verify(request, { ...SAFE, token: 'otherToken' })).toMatchObject({ kind: 'rejected' });
    expect(adapter.verify({ ...request, rawBody: Buffer.from('<xml><ToUserName>x</ToUserName></xml>') }, SAFE)).toMatchObject({ kind: 'rejected' });
  });

  it('rejects safe-mode pushes for another AppId or another key, and plaintext pushes to a safe-mode inbox', () => {
    expect(adapter.verify(safePush(TEXT, { ...SAFE, appId: 'wxother' }), SAFE)).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('another AppId') });
    expect(adapter.verify(safePush(TEXT), { ...SAFE, encodingAesKey: 'ZYXWVUTSRQPONMLKJIHGFEDCBA9876543210abcdefg' })).toMatchObject({ kind: 'rejected' });
    expect(adapter.verify(hook('POST', signedQuery(), TEXT), SAFE)).toMatchObject({ kind: 'rejected', reason: expect.stringContaining('safe mode') });
    expect(adapter.verify(safePush(TEXT), PLAIN)).toMatchObject({ kind: 'rejected' });
  });
});

describe('wechat parse', () => {
  it('reads a text message: OpenID as the external id, MsgId (64-bit, kept exact) as the dedupe key', async () => {
    const [event] = (await parseOne(TEXT)) as InboundMessageEvent[];
    expect(event).toEqual({
      kind: 'message',
      providerEventId: '24512345678901234567',
      providerMessageId: '24512345678901234567',
      sender: { externalId: OPENID },
      body: '你好, is the 9am tour still on? ',
      attachments: [],
      occurredAt: new Date(1714000000 * 1000),
    });
  });

  it('reads image, voice, location and link messages', async () => {
    const image = (await parseOne(xml({ ...base, MsgType: 'image', PicUrl: 'http://mmbiz.qpic.cn/pic.jpg', MediaId: 'media_1', MsgId: '1001' })))[0] as InboundMessageEvent;
    expect(image.attachments).toEqual([{ kind: 'image', ref: 'http://mmbiz.qpic.cn/pic.jpg' }]);
    const voice = (await parseOne(xml({ ...base, MsgType: 'voice', MediaId: 'media_v', Format: 'amr', Recognition: '明天几点出发', MsgId: '1002' })))[0] as InboundMessageEvent;
    expect(voice).toMatchObject({ body: '明天几点出发', attachments: [{ kind: 'audio', ref: 'media_v', mimeType: 'audio/amr' }] });
    const location = (await parseOne(xml({ ...base, MsgType: 'location', Location_X: '23.134521', Location_Y: '113.358803', Scale: '20', Label: '广州市天河区', MsgId: '1003' })))[0] as InboundMessageEvent;
    expect(location).toMatchObject({ body: '广州市天河区', attachments: [{ kind: 'location', ref: '23.134521,113.358803', name: '广州市天河区' }] });
    const link = (await parseOne(xml({ ...base, MsgType: 'link', Title: 'Tour map', Description: 'Day 2', Url: 'https://example.com/map', MsgId: '1004' })))[0] as InboundMessageEvent;
    expect(link).toMatchObject({ body: 'Tour map\nDay 2\nhttps://example.com/map', attachments: [{ kind: 'link', ref: 'https://example.com/map', name: 'Tour map' }] });
  });

  it('turns subscribe and unsubscribe into contact events keyed by FromUserName + CreateTime, and ignores other events', async () => {
    const [subscribe] = (await parseOne(xml({ ...base, MsgType: 'event', Event: 'subscribe', EventKey: '' }))) as ContactEvent[];
    expect(subscribe).toEqual({ kind: 'contact', providerEventId: `${OPENID}:1714000000:subscribe`, sender: { externalId: OPENID }, action: 'subscribed', occurredAt: new Date(1714000000 * 1000) });
    const [unsubscribe] = (await parseOne(xml({ ...base, MsgType: 'event', Event: 'unsubscribe' }))) as ContactEvent[];
    expect(unsubscribe).toMatchObject({ action: 'unsubscribed', providerEventId: `${OPENID}:1714000000:unsubscribe` });
    expect(await parseOne(xml({ ...base, MsgType: 'event', Event: 'CLICK', EventKey: 'MENU_1' }))).toEqual([]);
  });

  it('gives a replayed push the same providerEventId (the pipeline dedupes on it)', async () => {
    const first = await parseOne(TEXT);
    const again = await parseOne(TEXT);
    expect(again[0]!.providerEventId).toBe(first[0]!.providerEventId);
    const e1 = await parseOne(xml({ ...base, MsgType: 'event', Event: 'subscribe' }));
    const e2 = await parseOne(xml({ ...base, MsgType: 'event', Event: 'subscribe' }));
    expect(e2[0]!.providerEventId).toBe(e1[0]!.providerEventId);
  });

  it('safe mode round trip: encrypt -> push -> verify + decrypt -> parse', async () => {
    const request = safePush(TEXT);
    expect(adapter.verify(request, SAFE)).toEqual({ kind: 'verified' });
    const parsed = await adapter.parse(request, SAFE);
    expect(parsed.reply).toEqual({ status: 200, contentType: 'text/plain', body: 'success' });
    expect(parsed.events).toEqual(await parseOne(TEXT));
  });

  it('rejects malformed pushes with hook.malformed', async () => {
    const post = (body: string) => adapter.parse(hook('POST', signedQuery(), body), PLAIN);
    await expectMalformed(post('not xml at all'));
    await expectMalformed(post('<xml><FromUserName>a</FromUserName>'));
    await expectMalformed(post(''));
    await expectMalformed(post('<other/>'));
    await expectMalformed(post(xml({ ...base, FromUserName: '', MsgType: 'text', Content: 'x', MsgId: '1' })));
    await expectMalformed(post(xml({ ...base, MsgType: 'text', Content: 'x' }))); // no MsgId
    await expectMalformed(post(xml({ ...base, CreateTime: 'yesterday', MsgType: 'text', Content: 'x', MsgId: '1' })));
    await expectMalformed(post(xml({ ...base, MsgType: 'location', Location_X: 'north', Location_Y: '1', MsgId: '1' })));
    await expectMalformed(adapter.parse(hook('POST', { ...signedQuery(), encrypt_type: 'aes' }, '<xml><Encrypt><![CDATA[bm90IGJsb2Nrcw==]]></Encrypt></xml>'), SAFE));
    const push = safePush('garbage that is not xml');
    await expectMalformed(adapter.parse(push, SAFE));
  });
});

/* ── send: a local stand-in for api.weixin.qq.com ─────────────────────────────────────────── */

let provider: FakeProvider;
let sendAnswers: ScriptedAnswer[] = [];
let tokenAnswer: ScriptedAnswer;

beforeAll(async () => {
  provider = await startFakeProvider();
  provider.answer((call) => (call.path.startsWith('/cgi-bin/token?') ? tokenAnswer : (sendAnswers.shift() ?? { status: 200, body: { errcode: 0, errmsg: 'ok' } })));
});

afterAll(() => provider.close());

function calls(path: string): Array<{ method: string; query: URLSearchParams; json: unknown }> {
  return provider.calls
    .map((call) => ({ ...call, url: new URL(call.path, provider.url) }))
    .filter((call) => call.url.pathname === path)
    .map((call) => ({ method: call.method, query: call.url.searchParams, json: call.json }));
}

class CountingTokens implements TokenCache {
  fetches = 0;
  invalidated: Array<{ key: string; token: string }> = [];
  private cache = new Map<string, string>();
  async get(key: string, fetch: () => Promise<{ token: string; expiresInSeconds: number }>): Promise<string> {
    const cached = this.cache.get(key);
    if (cached) return cached;
    this.fetches++;
    const { token } = await fetch();
    this.cache.set(key, token);
    return token;
  }
  async invalidate(key: string, token: string): Promise<void> {
    this.invalidated.push({ key, token });
    if (this.cache.get(key) === token) this.cache.delete(key);
  }
}

describe('wechat send', () => {
  let tokens: CountingTokens;
  let context: SendContext;
  let config: WechatConfig;
  const message = (messageId: string, body = 'Yes, 9am at the pier.'): OutboundMessage => ({ messageId, to: OPENID, body, statusCallbackUrl: 'https://ferry.example/hooks/wechat/inbox-1' });

  beforeEach(() => {
    provider.calls.length = 0;
    sendAnswers = [];
    tokenAnswer = { status: 200, body: { access_token: 'TOKEN-1', expires_in: 7200 } };
    tokens = new CountingTokens();
    context = { tokens, timeoutMs: 2000, now: () => new Date(), guard: TEST_GUARD };
    config = { ...PLAIN, apiBaseUrl: provider.url };
  });

  it('fetches the access_token once and reuses it across sends, posting the customer-service text message', async () => {
    const first = await new WechatAdapter().send(message('m-1'), config, context);
    const second = await new WechatAdapter().send(message('m-2', 'Second'), config, context);
    expect(first).toEqual({ ok: true, providerMessageId: 'wechat:m-1', responseCode: '200' });
    expect(second).toMatchObject({ ok: true, providerMessageId: 'wechat:m-2' });
    expect(tokens.fetches).toBe(1);
    const tokenCalls = calls('/cgi-bin/token');
    expect(tokenCalls).toHaveLength(1);
    expect(tokenCalls[0]!.method).toBe('GET');
    expect(Object.fromEntries(tokenCalls[0]!.query)).toEqual({ grant_type: 'client_credential', appid: PLAIN.appId, secret: PLAIN.appSecret });
    const sends = calls('/cgi-bin/message/custom/send');
    expect(sends.map((s) => s.query.get('access_token'))).toEqual(['TOKEN-1', 'TOKEN-1']);
    expect(sends.map((s) => s.method)).toEqual(['POST', 'POST']);
    expect(sends[0]!.json).toEqual({ touser: OPENID, msgtype: 'text', text: { content: 'Yes, 9am at the pier.' } });
  });

  it('uses the cache key wechat:<appId>, with the endpoint when the inbox names one', async () => {
    const keys: string[] = [];
    const spy: TokenCache = { get: async (key, fetch) => (keys.push(key), (await fetch()).token), invalidate: async () => undefined };
    await new WechatAdapter().send(message('m-1'), config, { ...context, tokens: spy });
    expect(keys).toEqual([`wechat:${PLAIN.appId}@${provider.url.replace(/\/+$/, '')}`]);
    expect(tokenCacheKey({ ...PLAIN, apiBaseUrl: undefined })).toBe(`wechat:${PLAIN.appId}`);
  });

  it('45015 (outside the 48 h window) is permanent and keeps WeChat reason', async () => {
    sendAnswers = [{ status: 200, body: { errcode: 45015, errmsg: 'response out of time limit or subscription is canceled hint: [abc]' } }];
    expect(await adapter.send(message('m-1'), config, context)).toEqual({
      ok: false,
      permanent: true,
      code: 'wechat.45015',
      reason: 'response out of time limit or subscription is canceled hint: [abc]',
      responseCode: '200',
    });
  });

  it.each([
    [45047, true],
    [43004, true],
    [40003, true],
    [-1, false],
    [45009, false],
  ])('errcode %i is permanent: %s', async (errcode, permanent) => {
    sendAnswers = [{ status: 200, body: { errcode, errmsg: `err ${errcode}` } }];
    expect(await adapter.send(message('m-1'), config, context)).toMatchObject({ ok: false, permanent, code: `wechat.${errcode}`, reason: `err ${errcode}` });
    expect(tokens.invalidated).toEqual([]);
  });

  it.each([40001, 40014, 42001])('errcode %i drops the token from the cache and is transient; the retry fetches a new one', async (errcode) => {
    sendAnswers = [{ status: 200, body: { errcode, errmsg: 'invalid credential' } }];
    expect(await adapter.send(message('m-1'), config, context)).toMatchObject({ ok: false, permanent: false, code: `wechat.${errcode}` });
    expect(tokens.invalidated).toEqual([{ key: `wechat:${PLAIN.appId}@${provider.url.replace(/\/+$/, '')}`, token: 'TOKEN-1' }]);
    tokenAnswer = { status: 200, body: { access_token: 'TOKEN-2', expires_in: 7200 } };
    expect(await adapter.send(message('m-1'), config, context)).toMatchObject({ ok: true });
    expect(tokens.fetches).toBe(2);
    expect(calls('/cgi-bin/message/custom/send').map((s) => s.query.get('access_token'))).toEqual(['TOKEN-1', 'TOKEN-2']);
  });

  it('a token call WeChat refuses fails the send (wrong AppSecret: permanent; busy: transient) without posting', async () => {
    tokenAnswer = { status: 200, body: { errcode: 40125, errmsg: 'invalid appsecret' } };
    expect(await adapter.send(message('m-1'), config, context)).toMatchObject({ ok: false, permanent: true, code: 'wechat.40125', reason: 'access_token: invalid appsecret' });
    tokenAnswer = { status: 200, body: { errcode: -1, errmsg: 'system error' } };
    expect(await adapter.send(message('m-1'), config, context)).toMatchObject({ ok: false, permanent: false, code: 'wechat.-1' });
    expect(calls('/cgi-bin/message/custom/send')).toHaveLength(0);
  });

  it('5xx and a slow answer are transient', async () => {
    sendAnswers = [{ status: 502, body: 'bad gateway' }];
    expect(await adapter.send(message('m-1'), config, context)).toMatchObject({ ok: false, permanent: false, code: 'provider.http_502' });
    sendAnswers = [{ status: 200, hang: true }];
    expect(await adapter.send(message('m-1'), config, { ...context, timeoutMs: 100 })).toMatchObject({ ok: false, permanent: false, code: 'provider.timeout' });
  });

  it('a media message goes as text with its caption and link', async () => {
    await adapter.send({ ...message('m-1', 'Here is the map'), media: { kind: 'image', url: 'https://cdn.example/map.png', caption: 'Day 2' } }, config, context);
    expect(calls('/cgi-bin/message/custom/send')[0]!.json).toMatchObject({ text: { content: 'Here is the map\nDay 2\nhttps://cdn.example/map.png' } });
  });
});
