import type { Channel } from '#domain';
import type { ChannelAdapter, HookReply, HookRequest, OutboundMessage, ParsedHook, SendContext, SendOutcome, VerifyOutcome } from '../channel-adapter.js';
import type { WechatConfig } from '../config/channel-configs.js';
import { safeEqual } from '../provider-http.js';
import { sendCustomerServiceText } from './wechat-api.js';
import { WechatCryptoError, wechatDecrypt, wechatSignature } from './wechat-crypto.js';
import { malformed, readWechatXml, wechatEventsOf } from './wechat-xml.js';

/**
 * WeChat Official Account: the server-URL handshake (GET echostr), XML pushes in plaintext or safe
 * mode (msg_signature + AES, when the inbox has an EncodingAESKey), and replies through the
 * customer-service message API (passive replies would have to come within 5 s; Ferry answers
 * `success` at once and replies asynchronously).
 */
export class WechatAdapter implements ChannelAdapter<WechatConfig> {
  readonly channel: Channel = 'wechat';

  verify(request: HookRequest, config: WechatConfig): VerifyOutcome {
    const { timestamp, nonce } = request.query;
    if (!timestamp || !nonce) return rejected('timestamp and nonce are required');
    return request.method === 'GET' ? this.verifyEcho(request, config, timestamp, nonce) : this.verifyPush(request, config, timestamp, nonce);
  }

  async parse(request: HookRequest, config: WechatConfig): Promise<ParsedHook> {
    if (request.method !== 'POST') return { events: [], reply: SUCCESS };
    const xml = request.rawBody.toString('utf8');
    const plain = isSafeMode(request) ? this.decryptPush(xml, config) : xml;
    // `success` in plain text even in safe mode: WeChat documents it as the "no reply" answer, unencrypted.
    return { events: wechatEventsOf(plain), reply: SUCCESS };
  }

  send(message: OutboundMessage, config: WechatConfig, context: SendContext): Promise<SendOutcome> {
    return sendCustomerServiceText(message, config, context);
  }

  private verifyEcho(request: HookRequest, config: WechatConfig, timestamp: string, nonce: string): VerifyOutcome {
    const { echostr, msg_signature: msgSignature, signature } = request.query;
    if (!echostr) return rejected('echostr is required');
    if (msgSignature !== undefined && config.encodingAesKey) {
      // Safe mode handshake: the echostr is encrypted and signed like a message.
      if (!safeEqual(wechatSignature([config.token, timestamp, nonce, echostr]), msgSignature)) return rejected('msg_signature does not match');
      const opened = this.open(echostr, config);
      return typeof opened === 'string' ? { kind: 'handshake', reply: text(opened) } : opened;
    }
    if (!safeEqual(wechatSignature([config.token, timestamp, nonce]), signature ?? '')) return rejected('signature does not match');
    return { kind: 'handshake', reply: text(echostr) };
  }

  private verifyPush(request: HookRequest, config: WechatConfig, timestamp: string, nonce: string): VerifyOutcome {
    if (!isSafeMode(request)) {
      // The plain signature covers only token, timestamp and nonce, not the body: a safe-mode inbox
      // must not accept it, or a captured signature would carry any forged body.
      if (config.encodingAesKey) return rejected('this inbox runs in safe mode: pushes must be encrypted (encrypt_type=aes)');
      const ok = safeEqual(wechatSignature([config.token, timestamp, nonce]), request.query['signature'] ?? '');
      return ok ? { kind: 'verified' } : rejected('signature does not match');
    }
    if (!config.encodingAesKey) return rejected('encrypted push, but this inbox has no EncodingAESKey');
    let encrypted: string;
    try {
      encrypted = encryptedField(request.rawBody.toString('utf8'));
    } catch {
      return rejected('no <Encrypt> element to check msg_signature against');
    }
    const msgSignature = request.query['msg_signature'] ?? '';
    if (!safeEqual(wechatSignature([config.token, timestamp, nonce, encrypted]), msgSignature)) return rejected('msg_signature does not match');
    const opened = this.open(encrypted, config);
    return typeof opened === 'string' ? { kind: 'verified' } : opened;
  }

  /** Decrypts and checks the AppId inside: a message encrypted for another account is not ours. */
  private open(encrypted: string, config: WechatConfig): string | Extract<VerifyOutcome, { kind: 'rejected' }> {
    try {
      const { message, appId } = wechatDecrypt(encrypted, config.encodingAesKey!);
      return safeEqual(appId, config.appId) ? message : rejected('the message was encrypted for another AppId');
    } catch (error) {
      if (error instanceof WechatCryptoError) return rejected(`cannot decrypt with this inbox's EncodingAESKey (${error.message})`);
      throw error;
    }
  }

  private decryptPush(xml: string, config: WechatConfig): string {
    if (!config.encodingAesKey) throw malformed('encrypted push, but the inbox has no EncodingAESKey');
    try {
      const { message, appId } = wechatDecrypt(encryptedField(xml), config.encodingAesKey);
      if (appId !== config.appId) throw malformed('the message was encrypted for another AppId');
      return message;
    } catch (error) {
      if (error instanceof WechatCryptoError) throw malformed(`the <Encrypt> value cannot be decrypted (${error.message})`);
      throw error;
    }
  }
}

const SUCCESS: HookReply = { status: 200, contentType: 'text/plain', body: 'success' };

function isSafeMode(request: HookRequest): boolean {
  return request.query['encrypt_type'] === 'aes';
}

function encryptedField(xml: string): string {
  const encrypted = readWechatXml(xml)['Encrypt']?.trim();
  if (!encrypted) throw malformed('<Encrypt> is missing');
  return encrypted;
}

function text(body: string): HookReply {
  return { status: 200, contentType: 'text/plain', body };
}

function rejected(reason: string): Extract<VerifyOutcome, { kind: 'rejected' }> {
  return { kind: 'rejected', code: 'hook.invalid_signature', reason: `WeChat: ${reason}` };
}
