import { randomBytes } from 'node:crypto';
import { randomDigits } from './ids.js';
import { SimInputError, asRecord, optString, reqString } from './input.js';

/** The providers the simulator plays, named by Ferry's channel (Twilio is `sms`, SMTP/inbound parse is `email`). */
export const PROVIDERS = ['whatsapp', 'wechat', 'sms', 'line', 'telegram', 'email'] as const;
export type Provider = (typeof PROVIDERS)[number];

const ALIASES: Record<string, Provider> = { twilio: 'sms', smtp: 'email' };

export function providerOf(name: string): Provider | undefined {
  if ((PROVIDERS as readonly string[]).includes(name)) return name as Provider;
  return ALIASES[name];
}

interface AccountBase {
  id: string;
  /** Ferry's hook for this inbox: inbound messages (and WhatsApp statuses) are posted here. */
  hookUrl?: string;
}

export interface WhatsappAccount extends AccountBase {
  channel: 'whatsapp';
  phoneNumberId: string;
  accessToken: string;
  appSecret: string;
  verifyToken?: string;
  displayPhoneNumber: string;
  wabaId: string;
}

export interface WechatAccount extends AccountBase {
  channel: 'wechat';
  appId: string;
  appSecret: string;
  token: string;
  /** Set: safe mode, inbound XML is AES-encrypted and carries msg_signature. */
  encodingAesKey?: string;
  /** The official account's original id (gh_...), the ToUserName of inbound XML. */
  originalId: string;
  tokenTtlSeconds: number;
}

export interface SmsAccount extends AccountBase {
  channel: 'sms';
  accountSid: string;
  authToken: string;
  fromNumber?: string;
  messagingServiceSid?: string;
}

export interface LineAccount extends AccountBase {
  channel: 'line';
  channelSecret: string;
  channelAccessToken: string;
  /** The bot's user id: the `destination` of webhook bodies. */
  botUserId: string;
}

export interface TelegramAccount extends AccountBase {
  channel: 'telegram';
  botToken: string;
  secretToken?: string;
  botUsername: string;
}

export interface EmailAccount extends AccountBase {
  channel: 'email';
  /** The inbox's address: the recipient of inbound mail, the sender Ferry uses over SMTP. */
  address?: string;
  /** HTTP Basic password of the inbound-parse post (user `ferry`). */
  inboundSecret?: string;
  smtpUser?: string;
  smtpPassword?: string;
}

export type Account = WhatsappAccount | WechatAccount | SmsAccount | LineAccount | TelegramAccount | EmailAccount;
export type AccountOf<P extends Provider> = Extract<Account, { channel: P }>;

const hex = (bytes: number): string => randomBytes(bytes).toString('hex');

/**
 * Reads an account registration. Field names follow Ferry's inbox config (API.md), so a test can pass
 * the config it gave Ferry plus `hookUrl` (and, for email, `inboundSecret`); unknown fields are ignored.
 */
export function parseAccount(input: unknown, id: string): Account {
  const body = asRecord(input, 'account');
  const channel = providerOf(reqString(body, 'channel'));
  const hookUrl = optUrl(body, 'hookUrl');
  switch (channel) {
    case 'whatsapp':
      return {
        id,
        channel,
        hookUrl,
        phoneNumberId: reqString(body, 'phoneNumberId'),
        accessToken: reqString(body, 'accessToken'),
        appSecret: reqString(body, 'appSecret'),
        verifyToken: optString(body, 'verifyToken'),
        displayPhoneNumber: optString(body, 'displayPhoneNumber') ?? `1555${randomDigits(7)}`,
        wabaId: optString(body, 'wabaId') ?? optString(body, 'businessAccountId') ?? `1${randomDigits(14)}`,
      };
    case 'wechat': {
      const encodingAesKey = optString(body, 'encodingAesKey');
      if (encodingAesKey !== undefined && !/^[A-Za-z0-9+/]{43}$/.test(encodingAesKey)) throw new SimInputError('encodingAesKey must be 43 base64 characters');
      const ttl = body['tokenTtlSeconds'];
      if (ttl !== undefined && (typeof ttl !== 'number' || !Number.isInteger(ttl) || ttl < 1)) throw new SimInputError('tokenTtlSeconds must be a positive integer');
      return {
        id,
        channel,
        hookUrl,
        appId: reqString(body, 'appId'),
        appSecret: reqString(body, 'appSecret'),
        token: reqString(body, 'token'),
        encodingAesKey,
        originalId: optString(body, 'originalId') ?? `gh_${hex(6)}`,
        tokenTtlSeconds: (ttl as number | undefined) ?? 7200,
      };
    }
    case 'sms':
      return {
        id,
        channel,
        hookUrl,
        accountSid: reqString(body, 'accountSid'),
        authToken: reqString(body, 'authToken'),
        fromNumber: optString(body, 'fromNumber'),
        messagingServiceSid: optString(body, 'messagingServiceSid'),
      };
    case 'line':
      return {
        id,
        channel,
        hookUrl,
        channelSecret: reqString(body, 'channelSecret'),
        channelAccessToken: reqString(body, 'channelAccessToken'),
        botUserId: optString(body, 'botUserId') ?? `U${hex(16)}`,
      };
    case 'telegram': {
      const botToken = reqString(body, 'botToken');
      return { id, channel, hookUrl, botToken, secretToken: optString(body, 'secretToken'), botUsername: optString(body, 'botUsername') ?? 'ferry_sim_bot' };
    }
    case 'email': {
      const smtp = body['smtp'] === undefined ? {} : asRecord(body['smtp'], 'smtp');
      return {
        id,
        channel,
        hookUrl,
        address: optString(body, 'address') ?? optString(body, 'inboundAddress') ?? optString(body, 'fromAddress'),
        inboundSecret: optString(body, 'inboundSecret'),
        smtpUser: optString(smtp, 'user') ?? optString(body, 'smtpUser'),
        smtpPassword: optString(smtp, 'password') ?? optString(body, 'smtpPassword'),
      };
    }
    default:
      throw new SimInputError(`channel must be one of ${PROVIDERS.join(', ')}`);
  }
}

/** The credential that names an account at its provider: registering it again updates that account. */
export function accountKey(account: Account): string {
  switch (account.channel) {
    case 'whatsapp':
      return account.phoneNumberId;
    case 'wechat':
      return account.appId;
    case 'sms':
      return account.accountSid;
    case 'line':
      return account.channelAccessToken;
    case 'telegram':
      return account.botToken;
    case 'email':
      return account.address ?? account.hookUrl ?? account.id;
  }
}

function optUrl(body: Record<string, unknown>, key: string): string | undefined {
  const value = optString(body, key);
  if (value === undefined) return undefined;
  try {
    const url = new URL(value);
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new Error('scheme');
  } catch {
    throw new SimInputError(`${key} must be an http(s) URL`);
  }
  return value;
}
