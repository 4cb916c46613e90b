import { createHmac } from 'node:crypto';
import type { Channel } from '#domain';
import type { ChannelAdapter, HookRequest, OutboundMessage, ParsedHook, SendContext, SendOutcome, VerifyOutcome } from '../channel-adapter.js';
import type { LineConfig } from '../config/channel-configs.js';
import { isObject, optionalText } from '../hook-payload.js';
import { callProvider, failure, isTransientStatus, type ProviderResponse, retryAfterMs, safeEqual, type SendFailure } from '../provider-http.js';
import { parseLineHook } from './line-inbound.js';

const LINE_API = 'https://api.line.me';
const REQUEST_ID_HEADERS = ['x-line-request-id'];

/**
 * LINE Messaging API. A reply (free, token valid about a minute) when the pipeline still holds a fresh
 * reply token, else a push carrying `X-Line-Retry-Key: <our message id>`: LINE executes a push with a
 * given key once, and answers a retry of an accepted one 409 with `x-line-accepted-request-id`.
 */
export class LineAdapter implements ChannelAdapter<LineConfig> {
  readonly channel: Channel = 'line';

  verify(request: HookRequest, config: LineConfig): VerifyOutcome {
    const signature = request.headers['x-line-signature'];
    if (request.method !== 'POST') return { kind: 'rejected', code: 'hook.invalid_signature', reason: 'LINE only POSTs webhooks' };
    if (!signature) return { kind: 'rejected', code: 'hook.invalid_signature', reason: 'x-line-signature is missing' };
    const expected = createHmac('sha256', config.channelSecret).update(request.rawBody).digest('base64');
    if (!safeEqual(signature.trim(), expected)) return { kind: 'rejected', code: 'hook.invalid_signature', reason: 'x-line-signature does not match the body' };
    return { kind: 'verified' };
  }

  async parse(request: HookRequest, _config: LineConfig): Promise<ParsedHook> {
    return { events: parseLineHook(request.rawBody, request.receivedAt) };
  }

  async send(message: OutboundMessage, config: LineConfig, context: SendContext): Promise<SendOutcome> {
    const base = (config.apiBaseUrl ?? LINE_API).replace(/\/+$/, '');
    const messages = [lineMessage(message)];
    const headers: Record<string, string> = { authorization: `Bearer ${config.channelAccessToken}` };
    const reply = !!message.replyToken;
    // Only push takes a retry key: LINE refuses X-Line-Retry-Key on reply with a 400.
    if (!reply) headers['x-line-retry-key'] = message.messageId;
    const result = await callProvider(reply ? `${base}/v2/bot/message/reply` : `${base}/v2/bot/message/push`, {
      headers,
      json: reply ? { replyToken: message.replyToken, messages } : { to: message.to, messages },
      timeoutMs: context.timeoutMs,
      guard: context.guard,
      requestIdHeaders: REQUEST_ID_HEADERS,
    });
    if (!result.ok) return result.failure;
    const { response } = result;
    if (response.status >= 200 && response.status < 300) {
      // LINE sends no delivery receipts, and a reply answers no message id: the request id names the send.
      const providerMessageId = response.requestId ?? message.messageId;
      return { ok: true, providerMessageId, providerRequestId: providerMessageId, responseCode: String(response.status) };
    }
    const accepted = response.headers.get('x-line-accepted-request-id');
    if (!reply && response.status === 409 && accepted) {
      // An earlier try with this retry key was accepted (its answer was lost): that one is our send.
      const outcome: SendOutcome = { ok: true, providerMessageId: accepted, responseCode: '409' };
      if (response.requestId) outcome.providerRequestId = response.requestId;
      return outcome;
    }
    return lineFailure(response, reply);
  }
}

function lineMessage(message: OutboundMessage): Record<string, unknown> {
  if (message.media?.kind === 'image') {
    return { type: 'image', originalContentUrl: message.media.url, previewImageUrl: message.media.url };
  }
  if (message.media) {
    // LINE's video and audio messages need a preview image or a duration we do not have: send the link.
    return { type: 'text', text: [message.media.caption ?? message.body, message.media.url].filter(Boolean).join('\n') };
  }
  return { type: 'text', text: message.body };
}

/** `{message, details: [{message, property}]}` with the HTTP status carrying the nature of the error. */
function lineFailure(response: ProviderResponse, reply: boolean): SendFailure {
  const body = isObject(response.json) ? response.json : {};
  const summary = optionalText(body['message']) ?? '';
  const details = Array.isArray(body['details'])
    ? body['details'].filter(isObject).map((d) => [optionalText(d['property']), optionalText(d['message'])].filter(Boolean).join(': '))
    : [];
  const reason = [summary, ...details].filter(Boolean).join('; ') || response.text.slice(0, 500) || `HTTP ${response.status}`;
  if (reply && response.status === 400 && /reply token/i.test(summary)) {
    // Used or expired: the message itself is fine. Transient so it is retried, and the retry must push.
    return failure(response, false, 'line.reply_token_expired', reason);
  }
  if (response.status === 409) return failure(response, false, 'line.retry_key_conflict', reason || 'A request with this retry key is still being processed');
  if (response.status === 429 && /monthly limit/i.test(summary)) return failure(response, true, 'line.monthly_limit', reason);
  const transient = isTransientStatus(response.status);
  return failure(response, !transient, `line.${response.status}`, reason, transient ? retryAfterMs(response.headers) : undefined);
}
