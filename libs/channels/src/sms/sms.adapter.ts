import { DomainError, type Channel } from '#domain';
import type {
  ChannelAdapter,
  DeliveryStatus,
  HookEvent,
  HookReply,
  HookRequest,
  InboundAttachment,
  OutboundMessage,
  ParsedHook,
  SendContext,
  SendOutcome,
  VerifyOutcome,
} from '../channel-adapter.js';
import type { SmsConfig } from '../config/channel-configs.js';
import { sendTwilioMessage } from './twilio-api.js';
import { parseTwilioForm, twilioSignatureMatches, type TwilioParams } from './twilio-signature.js';

/**
 * SMS through Twilio: inbound messages and status callbacks arrive as signed form posts on the
 * same hook (the StatusCallback URL carries our message id as `?messageId=`); replies go out
 * through the Messages API.
 */
export class SmsAdapter implements ChannelAdapter<SmsConfig> {
  readonly channel: Channel = 'sms';

  verify(request: HookRequest, config: SmsConfig): VerifyOutcome {
    const signature = request.headers['x-twilio-signature'];
    if (!signature) return rejected('X-Twilio-Signature is missing');
    // A GET webhook carries its parameters in the URL, which is signed as is.
    const params = request.method === 'POST' ? parseTwilioForm(request.rawBody.toString('utf8')) : {};
    return twilioSignatureMatches(config.authToken, signature, request.url, params) ? { kind: 'verified' } : rejected('X-Twilio-Signature does not match');
  }

  async parse(request: HookRequest, _config: SmsConfig): Promise<ParsedHook> {
    const type = request.headers['content-type'];
    if (request.method === 'POST' && type && !type.toLowerCase().startsWith('application/x-www-form-urlencoded')) {
      throw malformed(`expected a form post, got ${type}`);
    }
    const params = request.method === 'POST' ? parseTwilioForm(request.rawBody.toString('utf8')) : withoutOurs(request.query);
    return { events: eventsOf(params, request), reply: EMPTY_TWIML };
  }

  send(message: OutboundMessage, config: SmsConfig, context: SendContext): Promise<SendOutcome> {
    return sendTwilioMessage(message, config, context);
  }
}

/** Twilio wants TwiML back; an empty Response means "no auto-reply". */
const EMPTY_TWIML: HookReply = { status: 200, contentType: 'text/xml', body: '<?xml version="1.0" encoding="UTF-8"?><Response></Response>' };

const STATUS: Record<string, DeliveryStatus | null> = {
  accepted: null,
  scheduled: null,
  queued: null,
  sending: null,
  sent: 'sent',
  delivered: 'delivered',
  read: 'read',
  undelivered: 'failed',
  failed: 'failed',
  canceled: 'failed',
};

/** Reasons for the delivery errors Twilio reports most (its callbacks carry only the code). */
const ERROR_REASONS: Record<string, string> = {
  '30001': 'Queue overflow',
  '30002': 'Account suspended',
  '30003': 'Unreachable destination handset',
  '30004': 'Message blocked',
  '30005': 'Unknown destination handset',
  '30006': 'Landline or unreachable carrier',
  '30007': 'Message filtered by the carrier',
  '30008': 'Unknown error',
  '30034': 'Message from an unregistered number (A2P 10DLC)',
};

function eventsOf(params: TwilioParams, request: HookRequest): HookEvent[] {
  const sid = one(params, 'MessageSid') ?? one(params, 'SmsSid');
  if (!sid) throw malformed('MessageSid is missing');
  const messageStatus = one(params, 'MessageStatus') ?? one(params, 'SmsStatus');
  if (messageStatus && messageStatus !== 'received') return statusEvents(params, sid, messageStatus, request);

  const from = one(params, 'From');
  if (!from) throw malformed('From is missing');
  const body = one(params, 'Body') ?? '';
  const attachments = mediaOf(params);
  const sender: { externalId: string; name?: string; phone?: string } = { externalId: from };
  if (/^\+[1-9]\d{6,14}$/.test(from)) sender.phone = from;
  const profileName = one(params, 'ProfileName');
  if (profileName) sender.name = profileName;
  return [{ kind: 'message', providerEventId: sid, providerMessageId: sid, sender, body, attachments, occurredAt: request.receivedAt }];
}

function statusEvents(params: TwilioParams, sid: string, messageStatus: string, request: HookRequest): HookEvent[] {
  if (!Object.hasOwn(STATUS, messageStatus)) return []; // a status Twilio added later: nothing Ferry tracks
  const status = STATUS[messageStatus];
  if (!status) return [];
  const messageId = request.query['messageId'];
  const event: HookEvent = {
    kind: 'status',
    providerEventId: `${sid}:${messageStatus}`,
    providerMessageId: sid,
    status,
    occurredAt: request.receivedAt,
    ...(messageId ? { messageId } : {}),
  };
  if (status === 'failed') {
    const errorCode = one(params, 'ErrorCode');
    event.error = errorCode
      ? { code: `twilio.${errorCode}`, reason: one(params, 'ErrorMessage') ?? ERROR_REASONS[errorCode] ?? `Twilio error ${errorCode} (${messageStatus})` }
      : { code: `twilio.${messageStatus}`, reason: `Twilio reported the message ${messageStatus}` };
  }
  return [event];
}

function mediaOf(params: TwilioParams): InboundAttachment[] {
  const raw = one(params, 'NumMedia') ?? '0';
  if (!/^\d{1,2}$/.test(raw)) throw malformed('NumMedia must be a small whole number');
  const attachments: InboundAttachment[] = [];
  for (let i = 0; i < Number(raw); i++) {
    const url = one(params, `MediaUrl${i}`);
    if (!url) throw malformed(`MediaUrl${i} is missing (NumMedia=${raw})`);
    const mimeType = one(params, `MediaContentType${i}`);
    const attachment: InboundAttachment = { kind: kindOf(mimeType), ref: url };
    if (mimeType) attachment.mimeType = mimeType;
    attachments.push(attachment);
  }
  return attachments;
}

function kindOf(mimeType: string | undefined): InboundAttachment['kind'] {
  const type = mimeType?.split('/')[0];
  return type === 'image' || type === 'audio' || type === 'video' ? type : 'file';
}

function one(params: TwilioParams, name: string): string | undefined {
  const value = params[name];
  const first = Array.isArray(value) ? value[0] : value;
  return first === undefined || first === '' ? undefined : first;
}

function withoutOurs(query: Record<string, string>): TwilioParams {
  const { messageId: _ours, ...rest } = query;
  return rest;
}

function malformed(what: string): DomainError {
  return DomainError.invalid('hook.malformed', `Twilio webhook: ${what}`);
}

function rejected(reason: string): Extract<VerifyOutcome, { kind: 'rejected' }> {
  return { kind: 'rejected', code: 'hook.invalid_signature', reason: `Twilio: ${reason}` };
}
