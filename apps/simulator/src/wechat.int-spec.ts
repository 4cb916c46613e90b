import { createDecipheriv, createHash } from 'node:crypto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { HookReceiver, SimulatorHarness } from '#testing';

let sim: SimulatorHarness;
let ferry: HookReceiver;
const AES_KEY = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG';
const ACCOUNT = { channel: 'wechat' as const, appId: 'wx5823bf96d3bd56c7', appSecret: 'wechat-secret', token: 'ferrytoken', originalId: 'gh_0123456789ab' };
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
  ferry.respond(() => ({ status: 200, body: 'success' }));
  accountId = (await sim.registerAccount({ ...ACCOUNT, hookUrl: ferry.url('/hooks/wechat/inbox-1') })).id;
});

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- each test asserts the fields it expects
async function getJson(path: string): Promise<any> {
  return (await fetch(`${sim.baseUrl}${path}`)).json();
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- as above
async function customSend(token: string, touser: string, content = 'Your tour is confirmed'): Promise<any> {
  const response = await fetch(`${sim.baseUrl}/cgi-bin/message/custom/send?access_token=${encodeURIComponent(token)}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ touser, msgtype: 'text', text: { content } }),
  });
  expect(response.status).toBe(200);
  return response.json();
}

async function token(secret = ACCOUNT.appSecret): Promise<string> {
  const body = await getJson(`/cgi-bin/token?grant_type=client_credential&appid=${ACCOUNT.appId}&secret=${secret}`);
  return body.access_token as string;
}

const sha1 = (parts: string[]): string => createHash('sha1').update([...parts].sort().join('')).digest('hex');

/** WeChat's documented decryption, written out here independently of the simulator's code. */
function decrypt(encrypted: string): { xml: string; appId: string } {
  const key = Buffer.from(`${AES_KEY}=`, 'base64');
  const decipher = createDecipheriv('aes-256-cbc', key, key.subarray(0, 16));
  decipher.setAutoPadding(false);
  const out = Buffer.concat([decipher.update(encrypted, 'base64'), decipher.final()]);
  const unpadded = out.subarray(0, out.length - out[out.length - 1]!);
  const length = unpadded.readUInt32BE(16);
  return { xml: unpadded.subarray(20, 20 + length).toString(), appId: unpadded.subarray(20 + length).toString() };
}

describe('WeChat access_token', () => {
  it('issues a token for the right appid and secret, counts issues, and refuses wrong credentials', async () => {
    expect(await getJson(`/cgi-bin/token?grant_type=client_credential&appid=${ACCOUNT.appId}&secret=wrong`)).toMatchObject({ errcode: 40125, errmsg: expect.stringMatching(/^invalid appsecret/) });
    expect(await getJson('/cgi-bin/token?grant_type=client_credential&appid=wxunknown&secret=x')).toMatchObject({ errcode: 40013 });
    expect(await getJson(`/cgi-bin/token?appid=${ACCOUNT.appId}&secret=${ACCOUNT.appSecret}`)).toMatchObject({ errcode: 40002 });
    expect((await sim.wechatTokens()).total).toBe(0);

    const body = await getJson(`/cgi-bin/token?grant_type=client_credential&appid=${ACCOUNT.appId}&secret=${ACCOUNT.appSecret}`);
    expect(body).toEqual({ access_token: expect.any(String), expires_in: 7200 });
    await token();
    expect(await sim.wechatTokens()).toEqual({ total: 2, byAccount: { [accountId]: 2 } });
  });

  it('keeps the previous token valid briefly after a new one is fetched, and refuses unknown and missing tokens', async () => {
    await sim.user('wechat', { account: accountId, user: 'oUser1', lastInboundAt: Date.now() });
    const first = await token();
    await token();
    expect(await customSend(first, 'oUser1')).toEqual({ errcode: 0, errmsg: 'ok' });
    expect(await customSend('not-a-token', 'oUser1')).toMatchObject({ errcode: 40001, errmsg: expect.stringMatching(/^invalid credential/) });
    expect(await customSend('', 'oUser1')).toMatchObject({ errcode: 41001 });
  });

  it('answers an expired token 42001', async () => {
    await sim.registerAccount({ ...ACCOUNT, tokenTtlSeconds: 1 });
    await sim.user('wechat', { account: accountId, user: 'oUser1', lastInboundAt: Date.now() });
    const short = await token();
    await new Promise((resolve) => setTimeout(resolve, 1100));
    expect(await customSend(short, 'oUser1')).toMatchObject({ errcode: 42001 });
  });
});

describe('WeChat customer-service window: 48 h and 5 messages', () => {
  it('refuses a user who never wrote with 45015', async () => {
    expect(await customSend(await token(), 'oNever')).toMatchObject({ errcode: 45015, errmsg: expect.stringMatching(/^response out of time limit or subscription is canceled/) });
    expect((await sim.sent('wechat')).messages).toEqual([]);
  });

  it('allows 5 messages after the user writes, refuses the 6th, and opens again on the next message', async () => {
    const access = await token();
    const inbound = await sim.inbound('wechat', { account: accountId, message: { from: 'oUser1', text: 'hi' } });
    expect(inbound.status).toBe(200);
    for (let i = 1; i <= 5; i++) expect(await customSend(access, 'oUser1', `reply ${i}`)).toEqual({ errcode: 0, errmsg: 'ok' });
    expect((await customSend(access, 'oUser1', 'reply 6')).errcode).toBe(45015);
    await sim.inbound('wechat', { account: accountId, message: { from: 'oUser1', text: 'again' } });
    expect((await customSend(access, 'oUser1', 'reply 7')).errcode).toBe(0);
    const sent = await sim.sent('wechat');
    expect(sent.messages.map((m) => m.text)).toEqual(['reply 1', 'reply 2', 'reply 3', 'reply 4', 'reply 5', 'reply 7']);
  });

  it('refuses more than 48 h after the last message, and after unsubscribe', async () => {
    const access = await token();
    await sim.user('wechat', { account: accountId, user: 'oUser1', lastInboundAt: new Date(Date.now() - 49 * 3600 * 1000).toISOString() });
    expect((await customSend(access, 'oUser1')).errcode).toBe(45015);
    await sim.inbound('wechat', { account: accountId, message: { from: 'oUser1' } });
    expect((await customSend(access, 'oUser1')).errcode).toBe(0);
    await sim.inbound('wechat', { account: accountId, message: { from: 'oUser1', type: 'event', event: 'unsubscribe' } });
    expect((await customSend(access, 'oUser1')).errcode).toBe(45015);
  });

  it('reports its own trouble as errcode -1 when told to fail', async () => {
    const access = await token();
    await sim.inbound('wechat', { account: accountId, message: { from: 'oUser1' } });
    await sim.behaviour('wechat', { mode: 'fail-half' });
    expect((await customSend(access, 'oUser1')).errcode).toBe(-1);
    expect((await customSend(access, 'oUser1')).errcode).toBe(0);
  });
});

describe('WeChat message push to Ferry', () => {
  it('posts plain XML with signature = sha1(sorted token, timestamp, nonce)', async () => {
    const result = await sim.inbound('wechat', { account: accountId, message: { from: 'oUser1', text: 'Ni hao', msgId: '23456789012345678' } });
    expect(result.body).toBe('success');
    const request = ferry.requests[0]!;
    const query = new URL(request.url, 'http://x').searchParams;
    expect(query.get('signature')).toBe(sha1([ACCOUNT.token, query.get('timestamp')!, query.get('nonce')!]));
    expect(query.get('openid')).toBe('oUser1');
    expect(query.has('encrypt_type')).toBe(false);
    const xml = request.body.toString();
    expect(xml).toMatch(/^<xml><ToUserName><!\[CDATA\[gh_0123456789ab\]\]><\/ToUserName><FromUserName><!\[CDATA\[oUser1\]\]><\/FromUserName><CreateTime>\d+<\/CreateTime><MsgType><!\[CDATA\[text\]\]><\/MsgType><Content><!\[CDATA\[Ni hao\]\]><\/Content><MsgId>23456789012345678<\/MsgId><\/xml>$/);
  });

  it('posts events without a MsgId, and location messages with their coordinates', async () => {
    await sim.inbound('wechat', { account: accountId, message: { from: 'oUser1', type: 'event', event: 'subscribe' } });
    await sim.inbound('wechat', { account: accountId, message: { from: 'oUser1', type: 'location', location: { x: 31.2304, y: 121.4737, scale: 16, label: 'Shanghai' } } });
    const [event, location] = ferry.requests.map((r) => r.body.toString());
    expect(event).toContain('<Event><![CDATA[subscribe]]></Event>');
    expect(event).not.toContain('<MsgId>');
    expect(location).toContain('<Location_X>31.2304</Location_X><Location_Y>121.4737</Location_Y><Scale>16</Scale><Label><![CDATA[Shanghai]]></Label>');
  });

  it('in safe mode encrypts with the EncodingAESKey and signs with msg_signature', async () => {
    await sim.registerAccount({ ...ACCOUNT, encodingAesKey: AES_KEY });
    const result = await sim.inbound('wechat', { account: accountId, message: { from: 'oUser2', text: 'encrypted hello' }, repeat: true });
    expect(result.deliveries).toHaveLength(2);
    const request = ferry.requests[0]!;
    const query = new URL(request.url, 'http://x').searchParams;
    expect(query.get('encrypt_type')).toBe('aes');
    const body = request.body.toString();
    const encrypted = /<Encrypt><!\[CDATA\[(.+)\]\]><\/Encrypt>/.exec(body)![1]!;
    expect(query.get('msg_signature')).toBe(sha1([ACCOUNT.token, query.get('timestamp')!, query.get('nonce')!, encrypted]));
    expect(query.get('signature')).toBe(sha1([ACCOUNT.token, query.get('timestamp')!, query.get('nonce')!]));
    const { xml, appId } = decrypt(encrypted);
    expect(appId).toBe(ACCOUNT.appId);
    // PKCS#7 to WeChat's 32-byte block: always 1 to 32 bytes of padding.
    const plainLength = 20 + Buffer.byteLength(xml) + Buffer.byteLength(appId);
    expect(Buffer.from(encrypted, 'base64').length).toBe(plainLength + (32 - (plainLength % 32)));
    expect(xml).toContain('<FromUserName><![CDATA[oUser2]]></FromUserName>');
    expect(xml).toContain('<Content><![CDATA[encrypted hello]]></Content>');
    expect(ferry.requests[1]!.body.toString()).toBe(body);
    expect(ferry.requests[1]!.url).toBe(request.url);
  });

  it('does the echostr handshake with the token signature', async () => {
    ferry.respond((r) => ({ status: 200, body: new URL(r.url, 'http://x').searchParams.get('echostr') ?? '' }));
    const result = await sim.handshake('wechat', { account: accountId });
    expect(result.echoed).toBe(true);
    const query = new URL(ferry.requests[0]!.url, 'http://x').searchParams;
    expect(query.get('signature')).toBe(sha1([ACCOUNT.token, query.get('timestamp')!, query.get('nonce')!]));
  });
});
