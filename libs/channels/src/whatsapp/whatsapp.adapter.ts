import { createHmac } from 'node:crypto';
import type { Channel } from '#domain';
import type { ChannelAdapter, HookRequest, OutboundMessage, ParsedHook, SendContext, SendOutcome, VerifyOutcome } from '../channel-adapter.js';
import type { WhatsappConfig } from '../config/channel-configs.js';
import { isObject, optionalText } from '../hook-payload.js';
import { callProvider, failure, safeEqual } from '../provider-http.js';
import { whatsappFailure } from './whatsapp-errors.js';
import { parseWhatsappHook } from './whatsapp-inbound.js';

const GRAPH_API = 'https://graph.facebook.com/v21.0';
const REQUEST_ID_HEADERS = ['x-fb-trace-id', 'x-fb-request-id'];

/** WhatsApp Cloud API: Meta's webhook (GET handshake, signed POSTs) and `POST /{phone-number-id}/messages`. */
export class WhatsappAdapter implements ChannelAdapter<WhatsappConfig> {
  readonly channel: Channel = 'whatsapp';

  verify(request: HookRequest, config: WhatsappConfig): VerifyOutcome {
    if (request.method === 'GET') {
      const { 'hub.mode': mode, 'hub.verify_token': token, 'hub.challenge': challenge } = request.query;
      if (mode !== 'subscribe' || token === undefined || challenge === undefined || !safeEqual(token, config.verifyToken)) {
        return { kind: 'rejected', code: 'hook.invalid_signature', reason: 'hub.mode must be subscribe and hub.verify_token must match the inbox' };
      }
      return { kind: 'handshake', reply: { status: 200, contentType: 'text/plain', body: challenge } };
    }
    const header = request.headers['x-hub-signature-256'];
    if (!header) return { kind: 'rejected', code: 'hook.invalid_signature', reason: 'X-Hub-Signature-256 is missing' };
    const expected = `sha256=${createHmac('sha256', config.appSecret).update(request.rawBody).digest('hex')}`;
    if (!safeEqual(header.trim().toLowerCase(), expected)) {
      return { kind: 'rejected', code: 'hook.invalid_signature', reason: 'X-Hub-Signature-256 does not match the body' };
    }
    return { kind: 'verified' };
  }

  async parse(request: HookRequest, config: WhatsappConfig): Promise<ParsedHook> {
    return { events: parseWhatsappHook(request.rawBody, config.phoneNumberId) };
  }

  async send(message: OutboundMessage, config: WhatsappConfig, context: SendContext): Promise<SendOutcome> {
    const url = `${(config.apiBaseUrl ?? GRAPH_API).replace(/\/+$/, '')}/${encodeURIComponent(config.phoneNumberId)}/messages`;
    const result = await callProvider(url, {
      headers: { authorization: `Bearer ${config.accessToken}` },
      json: whatsappPayload(message),
      timeoutMs: context.timeoutMs,
      guard: context.guard,
      requestIdHeaders: REQUEST_ID_HEADERS,
    });
    if (!result.ok) return result.failure;
    const { response } = result;
    if (response.status < 200 || response.status >= 300) return whatsappFailure(response);
    const first = isObject(response.json) && Array.isArray(response.json['messages']) ? response.json['messages'][0] : undefined;
    const id = isObject(first) ? optionalText(first['id']) : undefined;
    if (id === undefined) {
      // Accepted but unnamed: resending could deliver it twice; its receipt (biz_opaque_callback_data) can still find it.
      return failure(response, true, 'whatsapp.unexpected_response', `WhatsApp answered ${response.status} without messages[0].id`);
    }
    const outcome: SendOutcome = { ok: true, providerMessageId: id, responseCode: String(response.status) };
    if (response.requestId) outcome.providerRequestId = response.requestId;
    return outcome;
  }
}

const MEDIA_TYPES = { image: 'image', audio: 'audio', video: 'video', file: 'document' } as const;

/** The /messages body. Our message id rides along as biz_opaque_callback_data and comes back on every status. */
export function whatsappPayload(message: OutboundMessage): Record<string, unknown> {
  // wa_id is digits; anything else is a business-scoped user id, which goes in `recipient`.
  const address = /^\+?\d+$/.test(message.to) ? { to: message.to.replace(/^\+/, '') } : { recipient: message.to };
  const base = { messaging_product: 'whatsapp', recipient_type: 'individual', ...address, biz_opaque_callback_data: message.messageId };
  if (message.template) {
    const { name, language, parameters } = message.template;
    const template: Record<string, unknown> = { name, language: { code: language } };
    if (parameters.length > 0) template['components'] = [{ type: 'body', parameters: parameters.map((text) => ({ type: 'text', text })) }];
    return { ...base, type: 'template', template };
  }
  if (message.media) {
    const type = MEDIA_TYPES[message.media.kind];
    const media: Record<string, unknown> = { link: message.media.url };
    const caption = message.media.caption ?? (message.body || undefined);
    if (caption && type !== 'audio') media['caption'] = caption; // audio takes no caption
    return { ...base, type, [type]: media };
  }
  return { ...base, type: 'text', text: { body: message.body, preview_url: false } };
}
