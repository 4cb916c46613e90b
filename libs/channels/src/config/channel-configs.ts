import { CHANNELS, type Channel } from '#domain';
import { exampleOf, type IntegerField, jsonSchemaOf, parseShape, type ParseOptions, type ParseResult, secretPathsOf, type Shape, type UrlField } from './config-schema.js';

interface ProviderEndpoint {
  /** Another endpoint of the provider's API: a regional gateway, a self-hosted bridge, a simulator. */
  apiBaseUrl?: string;
  /** Sends per second from this inbox, shared by all workers; the channel's default when unset. */
  sendRatePerSecond?: number;
}

export interface WhatsappConfig extends ProviderEndpoint {
  phoneNumberId: string;
  accessToken: string;
  appSecret: string;
  verifyToken: string;
  /** The WhatsApp Business Account (WABA) id: where the inbox's message templates are listed. */
  businessAccountId?: string;
}

export interface WechatConfig extends ProviderEndpoint {
  appId: string;
  appSecret: string;
  token: string;
  /** Set: safe mode (messages AES-encrypted by WeChat). */
  encodingAesKey?: string;
}

export interface SmsConfig extends ProviderEndpoint {
  accountSid: string;
  authToken: string;
  /** One of fromNumber or messagingServiceSid (or both: the service wins at Twilio). */
  fromNumber?: string;
  messagingServiceSid?: string;
}

export interface SmtpConfig {
  host: string;
  port: number;
  secure: boolean;
  user?: string;
  password?: string;
}

export interface EmailConfig extends ProviderEndpoint {
  fromAddress: string;
  fromName?: string;
  smtp: SmtpConfig;
  inboundAddress?: string;
  /** The password of the inbound-parse hook (HTTP Basic, user `ferry`); no secret, no inbound hook. */
  inboundSecret?: string;
}

export interface LineConfig extends ProviderEndpoint {
  channelSecret: string;
  channelAccessToken: string;
}

export interface TelegramConfig extends ProviderEndpoint {
  botToken: string;
  secretToken: string;
}

export interface WebchatConfig extends ProviderEndpoint {
  allowedOrigins: string[];
}

export interface ApiChannelConfig extends ProviderEndpoint {
  /** Where Ferry posts the agents' replies for the integrator to deliver. */
  webhookUrl?: string;
  /** Signs those posts (Standard Webhooks `webhook-signature`); `whsec_<base64>` or plain text. */
  webhookSecret?: string;
}

/** The full (decrypted) config of each channel, as the senders and hooks read it. */
export interface ChannelConfigs {
  whatsapp: WhatsappConfig;
  wechat: WechatConfig;
  sms: SmsConfig;
  email: EmailConfig;
  telegram: TelegramConfig;
  line: LineConfig;
  webchat: WebchatConfig;
  api: ApiChannelConfig;
}

export interface ChannelSchema<T> {
  /**
   * Who calls in for this inbox, which sets the webhookUrl it answers: `provider` (the provider's
   * hook at /hooks/<channel>/<id>), `integrator` (POST /v1/inboxes/<id>/inbound), or nobody.
   */
  inbound: 'provider' | 'integrator' | null;
  fields: Shape<T>;
  /** A rule across fields that no single field's spec can say; answers errors, [] when fine. */
  check?: (config: T) => Array<{ field: string; message: string }>;
}

const apiBaseUrl: UrlField & { optional: true } = {
  kind: 'url',
  optional: true,
  description: "Another endpoint of the provider's API (regional gateway, self-hosted bridge, simulator)",
};

const sendRatePerSecond: IntegerField & { optional: true } = {
  kind: 'integer',
  optional: true,
  min: 1,
  max: 10_000,
  // No example: the examples make valid configs, and a rate belongs to the account, not to the channel.
  description: "Messages per second this inbox may send (the provider's limit for this account); a per-channel default when unset",
};

/*
 * ── Channel configs ─────────────────────────────────────────────────────────────────────────────
 * One entry per channel in CHANNELS (#domain). To add a channel: add it to CHANNELS, add its config
 * interface to ChannelConfigs, and add its entry here; the compiler refuses a channel without one,
 * and a field whose spec does not fit its type. Mark credentials `secret: true`: they are stored
 * encrypted and never answered.
 */
export const CHANNEL_SCHEMAS: { [C in Channel]: ChannelSchema<ChannelConfigs[C]> } = {
  whatsapp: {
    inbound: 'provider',
    fields: {
      phoneNumberId: { kind: 'text', maxLength: 64, description: 'The WhatsApp Business phone number id', example: '106540352242922' },
      accessToken: { kind: 'text', secret: true, description: 'A system-user access token of the WhatsApp Business account', example: 'EAAGm0PX4ZCpsBA...' },
      appSecret: { kind: 'text', secret: true, description: "The Meta app's secret (verifies X-Hub-Signature-256)", example: '8d9a1f0b6c1e4a7f9b2c3d4e5f6a7b8c' },
      verifyToken: { kind: 'text', secret: true, description: 'The token Meta echoes when the webhook is registered', example: 'ferry-verify-2f8c' },
      businessAccountId: {
        kind: 'text',
        optional: true,
        pattern: /^\d{1,32}$/,
        hint: 'digits (the WhatsApp Business Account id)',
        description: 'The WhatsApp Business Account (WABA) id; needed to sync the message templates',
        example: '102290129340398',
      },
      apiBaseUrl: { ...apiBaseUrl, example: 'https://graph.facebook.com/v21.0' },
      sendRatePerSecond,
    },
  },
  wechat: {
    inbound: 'provider',
    fields: {
      appId: { kind: 'text', maxLength: 64, description: 'The Official Account AppID', example: 'wx8f2c1e4a7b9d3f60' },
      appSecret: { kind: 'text', secret: true, description: 'The Official Account AppSecret', example: '3f9e8d7c6b5a49382716a5b4c3d2e1f0' },
      token: { kind: 'text', secret: true, maxLength: 32, pattern: /^[A-Za-z0-9]{3,32}$/, hint: '3 to 32 letters or digits (WeChat rule)', description: 'The server token that signs WeChat pushes', example: 'ferryToken2024' },
      encodingAesKey: {
        kind: 'text',
        secret: true,
        optional: true,
        pattern: /^[A-Za-z0-9]{43}$/,
        hint: '43 letters or digits (WeChat EncodingAESKey)',
        description: 'EncodingAESKey; when set the inbox runs in safe mode',
        example: 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG',
      },
      apiBaseUrl: { ...apiBaseUrl, example: 'https://api.weixin.qq.com' },
      sendRatePerSecond,
    },
  },
  sms: {
    inbound: 'provider',
    fields: {
      accountSid: { kind: 'text', maxLength: 64, description: 'The Twilio Account SID', example: 'AC0123456789abcdef0123456789abcdef' },
      authToken: { kind: 'text', secret: true, description: 'The Twilio auth token (also verifies X-Twilio-Signature)', example: '9f8e7d6c5b4a39281706f5e4d3c2b1a0' },
      fromNumber: {
        kind: 'text',
        optional: true,
        pattern: /^(\+[1-9]\d{6,14}|\d{3,8}|(?=.*[A-Za-z])[A-Za-z0-9 ]{1,11})$/,
        hint: 'an E.164 number (+14155550123), a short code, or an alphanumeric sender id',
        description: 'The sending number; this or messagingServiceSid is required',
        example: '+14155550123',
      },
      messagingServiceSid: { kind: 'text', optional: true, maxLength: 64, description: 'A Twilio Messaging Service SID; this or fromNumber is required' },
      apiBaseUrl: { ...apiBaseUrl, example: 'https://api.twilio.com' },
      sendRatePerSecond,
    },
    check: (config) =>
      config.fromNumber || config.messagingServiceSid
        ? []
        : [{ field: 'config.fromNumber', message: 'fromNumber or messagingServiceSid is required' }],
  },
  email: {
    inbound: 'provider',
    fields: {
      fromAddress: { kind: 'email', description: 'The address replies are sent from', example: 'support@mekong-tours.example' },
      fromName: { kind: 'text', optional: true, maxLength: 200, description: 'The display name replies are sent under', example: 'Mekong Tours' },
      smtp: {
        kind: 'object',
        description: 'The SMTP server that sends replies',
        fields: {
          host: { kind: 'host', description: 'SMTP host', example: 'smtp.mekong-tours.example' },
          port: { kind: 'integer', min: 1, max: 65535, description: 'SMTP port', example: 587 },
          secure: { kind: 'boolean', description: 'TLS from the start (port 465); false upgrades with STARTTLS', example: false },
          user: { kind: 'text', optional: true, maxLength: 320, description: 'SMTP user name', example: 'support@mekong-tours.example' },
          password: { kind: 'text', secret: true, optional: true, description: 'SMTP password', example: 'app-password-7c1d' },
        },
      },
      inboundAddress: { kind: 'email', optional: true, description: 'The address whose mail is forwarded to this inbox', example: 'inbox@mekong-tours.example' },
      inboundSecret: {
        kind: 'text',
        secret: true,
        optional: true,
        maxLength: 256,
        description: 'The password of the inbound-parse hook URL (HTTP Basic auth, user "ferry"); inbound mail is refused without it',
      },
      apiBaseUrl,
      sendRatePerSecond,
    },
  },
  telegram: {
    inbound: 'provider',
    fields: {
      botToken: { kind: 'text', secret: true, maxLength: 128, description: 'The token @BotFather gave the bot', example: '7012345678:AAHk3x9Qm2LwP0vR5sT8uY1zB4cD6eF7gH' },
      secretToken: {
        kind: 'text',
        secret: true,
        pattern: /^[A-Za-z0-9_-]{1,256}$/,
        hint: '1 to 256 of A-Z, a-z, 0-9, _ and - (Telegram rule)',
        description: 'Sent by Telegram in X-Telegram-Bot-Api-Secret-Token with every update',
        example: 'ferry_tg_9b1c2d3e',
      },
      apiBaseUrl: { ...apiBaseUrl, example: 'https://api.telegram.org' },
      sendRatePerSecond,
    },
  },
  line: {
    inbound: 'provider',
    fields: {
      channelSecret: { kind: 'text', secret: true, description: 'The channel secret (verifies X-Line-Signature)', example: '0f1e2d3c4b5a69788796a5b4c3d2e1f0' },
      channelAccessToken: { kind: 'text', secret: true, description: 'A long-lived channel access token', example: 'Hq3x9Qm2LwP0vR5sT8uY1zB4cD6eF7gH...' },
      apiBaseUrl: { ...apiBaseUrl, example: 'https://api.line.me' },
      sendRatePerSecond,
    },
  },
  webchat: {
    inbound: null,
    fields: {
      allowedOrigins: { kind: 'origins', maxItems: 50, description: 'The sites allowed to embed the chat widget', example: ['https://www.mekong-tours.example'] },
      apiBaseUrl,
      sendRatePerSecond,
    },
  },
  api: {
    inbound: 'integrator',
    fields: {
      webhookUrl: { kind: 'url', optional: true, description: "Where Ferry posts the agents' replies for the integrator to deliver", example: 'https://crm.mekong-tours.example/ferry/outbound' },
      webhookSecret: {
        kind: 'text',
        secret: true,
        optional: true,
        maxLength: 256,
        description: 'Signs the posts to webhookUrl (Standard Webhooks webhook-signature); whsec_<base64> or any text',
        example: 'whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw',
      },
      apiBaseUrl,
      sendRatePerSecond,
    },
  },
};

function schemaOf<C extends Channel>(channel: C): ChannelSchema<ChannelConfigs[C]> {
  return CHANNEL_SCHEMAS[channel] as ChannelSchema<ChannelConfigs[C]>;
}

/** Validates a channel's full config (secrets included); errors name fields like `config.smtp.port`. */
export function parseChannelConfig<C extends Channel>(channel: C, input: unknown, options: ParseOptions): ParseResult<ChannelConfigs[C]> {
  const schema = schemaOf(channel);
  const parsed = parseShape(schema.fields, input, options);
  if (!parsed.ok || !schema.check) return parsed;
  const errors = schema.check(parsed.value);
  return errors.length === 0 ? parsed : { ok: false, errors };
}

/** The dotted paths of a channel's secret fields. */
export function channelSecretPaths(channel: Channel): string[] {
  return secretPathsOf(schemaOf(channel).fields);
}

export function channelInbound(channel: Channel): ChannelSchema<unknown>['inbound'] {
  return schemaOf(channel).inbound;
}

/** A valid config of the channel, made of the documented examples. */
export function exampleChannelConfig<C extends Channel>(channel: C): ChannelConfigs[C] {
  return exampleOf(schemaOf(channel).fields);
}

/** One JSON Schema per channel, for the API document. */
export function channelConfigJsonSchemas(): Array<Record<string, unknown>> {
  return CHANNELS.map((channel) => jsonSchemaOf(schemaOf(channel).fields, `${channel} config`));
}
