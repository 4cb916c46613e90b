import type { Channel } from '#domain';
import type { OutboundGuard } from '#net';

/**
 * The one contract every provider adapter implements, in both directions: verify and parse what the
 * provider sends to Ferry's hook, and send what Ferry delivers. Adapters are pure I/O: no database,
 * no queue. The pipeline (libs/messaging, apps/worker) stores, dedupes and retries around them.
 */

/** A provider's call to `/hooks/<channel>/<inboxId>`, as received: verification runs on these bytes. */
export interface HookRequest {
  method: 'GET' | 'POST';
  /** The full public URL the provider called (PUBLIC_URL + path + query): Twilio signs it. */
  url: string;
  query: Record<string, string>;
  /** Header names lower-cased. */
  headers: Record<string, string | undefined>;
  rawBody: Buffer;
  receivedAt: Date;
}

/** What the hook answers the provider (WeChat wants `success`, Twilio an empty TwiML document...). */
export interface HookReply {
  status: number;
  contentType: string;
  body: string;
}

export type VerifyOutcome =
  /** A GET handshake (WhatsApp hub.challenge, WeChat echostr): answer it, store nothing. */
  | { kind: 'handshake'; reply: HookReply }
  | { kind: 'verified' }
  /** Bad or missing signature, wrong token: 401, nothing stored. */
  | { kind: 'rejected'; code: string; reason: string };

/** Who wrote, at the identity's true scope (WeChat OpenID per app, WhatsApp wa_id or BSUID, ...). */
export interface SenderProfile {
  externalId: string;
  name?: string;
  phone?: string;
  email?: string;
}

export interface InboundAttachment {
  kind: 'image' | 'audio' | 'video' | 'file' | 'location' | 'link' | 'sticker';
  /** A provider media id or URL to fetch it by; a location's "lat,lng". */
  ref: string;
  mimeType?: string;
  name?: string;
}

export interface InboundMessageEvent {
  kind: 'message';
  /** The provider's id of this event: the dedupe key (WeChat events: FromUserName + CreateTime). */
  providerEventId: string;
  providerMessageId: string;
  sender: SenderProfile;
  body: string;
  attachments: InboundAttachment[];
  occurredAt: Date;
  /** Set when the provider sent an edit of an earlier message (Telegram edited_message). */
  editOf?: string;
  /** LINE: a reply token usable once, briefly, for a free reply. */
  replyToken?: { token: string; expiresAt: Date };
  /** Email threading headers, and the raw MIME kept beside the stripped body. */
  email?: { messageId: string; inReplyTo?: string; references: string[]; subject?: string; raw: string };
}

export const DELIVERY_STATUSES = ['sent', 'delivered', 'read', 'failed'] as const;
export type DeliveryStatus = (typeof DELIVERY_STATUSES)[number];

export interface StatusEvent {
  kind: 'status';
  providerEventId: string;
  providerMessageId: string;
  /** Our message id when the provider echoes it back (callback data, StatusCallback query). */
  messageId?: string;
  status: DeliveryStatus;
  error?: { code: string; reason: string };
  occurredAt: Date;
}

/** Follow, unfollow, subscribe, unsubscribe: the relationship, not a message. */
export interface ContactEvent {
  kind: 'contact';
  providerEventId: string;
  sender: SenderProfile;
  action: 'subscribed' | 'unsubscribed';
  occurredAt: Date;
}

export type HookEvent = InboundMessageEvent | StatusEvent | ContactEvent;

export interface ParsedHook {
  events: HookEvent[];
  /** What to answer; defaults to 200 with an empty body. */
  reply?: HookReply;
}

/** What Ferry sends. */
export interface OutboundMessage {
  /** Ferry's message id: the provider idempotency key where the provider takes one. */
  messageId: string;
  /** The conversation it belongs to: the api channel hands it to the integrator. */
  conversationId?: string;
  /** The recipient's external id on this channel (the identity). */
  to: string;
  body: string;
  template?: { name: string; language: string; parameters: string[] };
  media?: { kind: 'image' | 'audio' | 'video' | 'file'; url: string; caption?: string };
  /** LINE: a reply token still fresh enough to use. */
  replyToken?: string;
  /** Email: threading and subject of the conversation. */
  email?: { subject: string; inReplyTo?: string; references: string[] };
  /** Where the provider posts this message's status callbacks (Twilio StatusCallback). */
  statusCallbackUrl: string;
}

export type SendOutcome =
  | {
      ok: true;
      providerMessageId: string;
      /** The provider's request id (response header), kept on the delivery attempt. */
      providerRequestId?: string;
      responseCode: string;
    }
  | {
      ok: false;
      /** Permanent: never retried (bad recipient, window closed: WeChat 45015, WhatsApp 131047...). */
      permanent: boolean;
      code: string;
      reason: string;
      providerRequestId?: string;
      responseCode?: string;
      /** The provider asked us to wait this long (429 Retry-After). */
      retryAfterMs?: number;
    };

/** A short-lived provider access token shared by every worker (WeChat's access_token). */
export interface TokenCache {
  /**
   * Returns the cached token for `key`, or runs `fetch` under a lock so that only one process
   * fetches it, caching it until `expiresInSeconds` minus a safety margin.
   */
  get(key: string, fetch: () => Promise<{ token: string; expiresInSeconds: number }>): Promise<string>;
  invalidate(key: string, token: string): Promise<void>;
}

export interface SendContext {
  tokens: TokenCache;
  /** Abort after this long: a slow provider is a transient failure, retried. */
  timeoutMs: number;
  now(): Date;
  /** The SSRF guard every call to a workspace-given URL (apiBaseUrl, webhookUrl) goes through. */
  guard: OutboundGuard;
}

/**
 * A provider adapter. `C` is the channel's full (decrypted) inbox config.
 * To add a channel: add a folder with its config schema and adapter, and its entry in registry.ts;
 * the registry is typed by Channel, so a channel without an adapter does not compile.
 */
export interface ChannelAdapter<C> {
  readonly channel: Channel;
  verify(request: HookRequest, config: C): VerifyOutcome;
  /** Throws ChannelError('...malformed') for a payload it cannot read (400, nothing stored). */
  parse(request: HookRequest, config: C): Promise<ParsedHook>;
  send(message: OutboundMessage, config: C, context: SendContext): Promise<SendOutcome>;
}
