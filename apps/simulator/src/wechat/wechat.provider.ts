import { randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WechatAccount } from '../accounts.js';
import { type ProviderPlayer, type SimContext, dropConnection } from '../context.js';
import type { HookDelivery, InboundResult } from '../hook-client.js';
import { randomDigits, randomHex, unixSeconds } from '../ids.js';
import { type Json, SimInputError, asRecord, optString, optTime, tryJson } from '../input.js';
import { cdata, decryptMessage, encryptMessage, wechatSignature } from './wechat-crypto.js';

const WINDOW_MS = 48 * 60 * 60 * 1000;
const MESSAGES_PER_WINDOW = 5;
/** A newly fetched access_token leaves the previous one valid this much longer (WeChat's documented overlap). */
const TOKEN_OVERLAP_MS = 5 * 60 * 1000;
const MSG_TYPES = new Set(['text', 'image', 'voice', 'video', 'music', 'news', 'mpnews', 'mpnewsarticle', 'msgmenu', 'wxcard', 'miniprogrampage']);

interface IssuedToken {
  accountId: string;
  expiresAt: number;
}

/** WeChat Official Account: access_token, customer-service messages, XML message push (plain and safe mode). */
export class WechatProvider implements ProviderPlayer<'wechat'> {
  readonly provider = 'wechat';
  private readonly tokens = new Map<string, IssuedToken>();
  private readonly issued = new Map<string, number>();

  constructor(private readonly sim: SimContext) {}

  routes(app: FastifyInstance): void {
    app.get('/cgi-bin/token', (request) => this.token(request));
    app.post('/cgi-bin/message/custom/send', (request, reply) => this.send(request, reply));
  }

  /** How many access tokens each account was issued: the cache shared by workers should keep this at one. */
  tokenReport(): { total: number; byAccount: Record<string, number> } {
    const byAccount = Object.fromEntries(this.issued);
    return { total: [...this.issued.values()].reduce((a, b) => a + b, 0), byAccount };
  }

  reset(): void {
    this.tokens.clear();
    this.issued.clear();
  }

  private async token(request: FastifyRequest): Promise<Json> {
    const query = request.query as Record<string, string | undefined>;
    if (query['grant_type'] !== 'client_credential') return wxError(40002, 'invalid grant_type');
    const account = this.sim.state.find('wechat', (a) => a.appId === query['appid']);
    if (!account) return wxError(40013, 'invalid appid');
    if (account.appSecret !== query['secret']) return wxError(40125, 'invalid appsecret');
    const now = Date.now();
    for (const issued of this.tokens.values()) {
      if (issued.accountId === account.id) issued.expiresAt = Math.min(issued.expiresAt, now + TOKEN_OVERLAP_MS);
    }
    const token = randomBytes(96).toString('base64url');
    this.tokens.set(token, { accountId: account.id, expiresAt: now + account.tokenTtlSeconds * 1000 });
    this.issued.set(account.id, (this.issued.get(account.id) ?? 0) + 1);
    return { access_token: token, expires_in: account.tokenTtlSeconds };
  }

  private async send(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const token = (request.query as Record<string, string | undefined>)['access_token'];
    if (!token) return wxError(41001, 'access_token missing');
    const issued = this.tokens.get(token);
    if (!issued) return wxError(40001, 'invalid credential, access_token is invalid or not latest');
    if (issued.expiresAt <= Date.now()) return wxError(42001, 'access_token expired');
    const body = tryJson(request.body);
    if (!body) return wxError(47001, 'data format error');
    const touser = optStringSafe(body, 'touser');
    if (!touser) return wxError(40003, 'invalid openid');
    const msgtype = optStringSafe(body, 'msgtype') ?? '';
    if (!MSG_TYPES.has(msgtype) || typeof body[msgtype] !== 'object' || body[msgtype] === null) return wxError(40008, 'invalid message type');
    const text = msgtype === 'text' ? optStringSafe(body['text'] as Json, 'content') : undefined;
    if (msgtype === 'text' && !text) return wxError(44004, 'empty content');

    const gate = await this.sim.behaviours.gate('wechat');
    if (gate === 'fail') return this.transientError(reply);
    const user = this.sim.state.user(issued.accountId, touser);
    const closed = user.blocked || user.lastInboundAt === undefined || Date.now() - user.lastInboundAt > WINDOW_MS || user.sentSinceInbound >= MESSAGES_PER_WINDOW;
    if (closed) return wxError(45015, 'response out of time limit or subscription is canceled');
    user.sentSinceInbound++;
    // The customer-service API returns no message id; the record gets one so receipts-less tests can still count.
    this.sim.state.record({ channel: 'wechat', accountId: issued.accountId, providerMessageId: randomHex(8), to: touser, type: msgtype, text, request: body });
    if (gate === 'lose') return dropConnection(request, reply);
    return { errcode: 0, errmsg: 'ok' };
  }

  /** WeChat reports its own trouble as errcode -1 over HTTP 200; a scripted failStatus answers that HTTP status instead. */
  private transientError(reply: FastifyReply): unknown {
    const behaviour = this.sim.behaviours.get('wechat');
    if (behaviour.failStatus !== undefined) return reply.code(behaviour.failStatus).type('text/html').send('<html><body>Service Unavailable</body></html>');
    if (behaviour.failCode === 45009) return wxError(45009, 'reach max api daily quota limit');
    return wxError(behaviour.failCode ?? -1, 'system error');
  }

  async inbound(account: WechatAccount, message: Json, repeat: number): Promise<InboundResult> {
    if (!account.hookUrl) throw new SimInputError(`account ${account.id} has no hookUrl`);
    const openid = optString(message, 'from') ?? `o${randomBytes(21).toString('base64url').slice(0, 27)}`;
    const at = optTime(message, 'at') ?? Date.now();
    const type = optString(message, 'type') ?? 'text';
    const createTime = String(unixSeconds(at));
    const msgId = type === 'event' ? undefined : (optString(message, 'msgId') ?? BigInt(`0x${randomHex(8)}`).toString().slice(0, 19));
    const fields = [cdata('ToUserName', account.originalId), cdata('FromUserName', openid), `<CreateTime>${createTime}</CreateTime>`, cdata('MsgType', type), ...typeFields(type, message)];
    if (msgId) fields.push(`<MsgId>${msgId}</MsgId>`);
    const xml = `<xml>${fields.join('')}</xml>`;

    const event = optString(message, 'event');
    const user = this.sim.state.user(account.id, openid);
    if (type === 'event' && event === 'unsubscribe') user.blocked = true;
    else {
      user.blocked = false;
      this.sim.state.inbound(account.id, [openid], at);
    }

    const timestamp = String(unixSeconds());
    const nonce = randomDigits(10);
    const url = new URL(account.hookUrl);
    url.searchParams.set('signature', wechatSignature(account.token, timestamp, nonce));
    url.searchParams.set('timestamp', timestamp);
    url.searchParams.set('nonce', nonce);
    url.searchParams.set('openid', openid);
    let body = xml;
    if (account.encodingAesKey) {
      const encrypted = encryptMessage(xml, account.encodingAesKey, account.appId);
      url.searchParams.set('encrypt_type', 'aes');
      url.searchParams.set('msg_signature', wechatSignature(account.token, timestamp, nonce, encrypted));
      body = `<xml>${cdata('ToUserName', account.originalId)}${cdata('Encrypt', encrypted)}</xml>`;
    }
    const deliveries = await this.sim.hooks.deliver(url.toString(), () => ({ headers: { 'content-type': 'text/xml' }, body }), repeat);
    const first = deliveries[0]!;
    return { ...first, deliveries, url: url.toString(), payload: body, event: { openid, msgId, createTime, xml, reply: this.readReply(account, first.body) } };
  }

  /** Ferry's passive reply, decrypted in safe mode (`success` and empty answers are returned as they are). */
  private readReply(account: WechatAccount, body: unknown): string | undefined {
    if (typeof body !== 'string') return undefined;
    const encrypted = /<Encrypt><!\[CDATA\[([^\]]+)\]\]><\/Encrypt>/.exec(body)?.[1];
    if (!encrypted || !account.encodingAesKey) return body;
    try {
      return decryptMessage(encrypted, account.encodingAesKey).xml;
    } catch {
      return body;
    }
  }

  async handshake(account: WechatAccount, input: Json): Promise<{ delivery: HookDelivery; challenge: string; echoed: boolean }> {
    if (!account.hookUrl) throw new SimInputError(`account ${account.id} has no hookUrl`);
    const timestamp = String(unixSeconds());
    const nonce = randomDigits(10);
    const echostr = randomDigits(19);
    const url = new URL(account.hookUrl);
    url.searchParams.set('signature', wechatSignature(optString(input, 'token') ?? account.token, timestamp, nonce));
    url.searchParams.set('echostr', echostr);
    url.searchParams.set('timestamp', timestamp);
    url.searchParams.set('nonce', nonce);
    const delivery = await this.sim.hooks.send(url.toString(), { method: 'GET' });
    return { delivery, challenge: echostr, echoed: delivery.status === 200 && String(delivery.body).trim() === echostr };
  }
}

/** The type-specific elements of a pushed message, from WeChat's message-push reference. */
function typeFields(type: string, message: Json): string[] {
  const s = (key: string, fallback: string): string => optString(message, key) ?? fallback;
  switch (type) {
    case 'text':
      return [cdata('Content', s('text', 'Hello from the simulator'))];
    case 'image':
      return [cdata('PicUrl', s('picUrl', 'http://mmbiz.qpic.cn/sim.jpg')), cdata('MediaId', s('mediaId', randomHex(16)))];
    case 'voice':
      return [cdata('MediaId', s('mediaId', randomHex(16))), cdata('Format', s('format', 'amr')), ...(message['recognition'] ? [cdata('Recognition', s('recognition', ''))] : [])];
    case 'video':
    case 'shortvideo':
      return [cdata('MediaId', s('mediaId', randomHex(16))), cdata('ThumbMediaId', s('thumbMediaId', randomHex(16)))];
    case 'location': {
      const location = message['location'] === undefined ? {} : asRecord(message['location'], 'location');
      const n = (key: string, fallback: number): string => String(location[key] ?? fallback);
      return [`<Location_X>${n('x', 13.7563)}</Location_X>`, `<Location_Y>${n('y', 100.5018)}</Location_Y>`, `<Scale>${n('scale', 15)}</Scale>`, cdata('Label', String(location['label'] ?? 'Bangkok'))];
    }
    case 'link': {
      const link = message['link'] === undefined ? {} : asRecord(message['link'], 'link');
      return [cdata('Title', String(link['title'] ?? 'A link')), cdata('Description', String(link['description'] ?? '')), cdata('Url', String(link['url'] ?? 'https://example.com'))];
    }
    case 'event':
      return [cdata('Event', s('event', 'subscribe')), ...(message['eventKey'] !== undefined ? [cdata('EventKey', s('eventKey', ''))] : [])];
    default:
      throw new SimInputError(`unknown wechat message type ${type}`);
  }
}

function optStringSafe(body: Json, key: string): string | undefined {
  const value = body[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}

/** WeChat's error body: HTTP 200, errcode and errmsg with a request id. */
function wxError(errcode: number, errmsg: string): Json {
  return { errcode, errmsg: `${errmsg} rid: ${randomHex(4)}-${randomHex(4)}-${randomHex(4)}` };
}
