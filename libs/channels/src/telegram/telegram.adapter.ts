import type { Channel } from '#domain';
import type { ChannelAdapter, HookRequest, OutboundMessage, ParsedHook, SendContext, SendOutcome, VerifyOutcome } from '../channel-adapter.js';
import type { TelegramConfig } from '../config/channel-configs.js';
import { isObject, optionalText } from '../hook-payload.js';
import { callProvider, failure, isTransientStatus, type ProviderResponse, retryAfterMs, safeEqual, type SendFailure } from '../provider-http.js';
import { parseTelegramUpdate } from './telegram-inbound.js';

const BOT_API = 'https://api.telegram.org';

/** Telegram Bot API: updates posted by setWebhook (with secret_token), replies through sendMessage. */
export class TelegramAdapter implements ChannelAdapter<TelegramConfig> {
  readonly channel: Channel = 'telegram';

  verify(request: HookRequest, config: TelegramConfig): VerifyOutcome {
    const token = request.headers['x-telegram-bot-api-secret-token'];
    if (request.method !== 'POST') return { kind: 'rejected', code: 'hook.invalid_signature', reason: 'Telegram only POSTs updates' };
    if (!token) return { kind: 'rejected', code: 'hook.invalid_signature', reason: 'X-Telegram-Bot-Api-Secret-Token is missing' };
    if (!safeEqual(token, config.secretToken)) return { kind: 'rejected', code: 'hook.invalid_signature', reason: 'X-Telegram-Bot-Api-Secret-Token does not match' };
    return { kind: 'verified' };
  }

  async parse(request: HookRequest, _config: TelegramConfig): Promise<ParsedHook> {
    return { events: parseTelegramUpdate(request.rawBody) };
  }

  async send(message: OutboundMessage, config: TelegramConfig, context: SendContext): Promise<SendOutcome> {
    const { method, payload } = telegramCall(message);
    const url = `${(config.apiBaseUrl ?? BOT_API).replace(/\/+$/, '')}/bot${config.botToken}/${method}`;
    const result = await callProvider(url, { json: payload, timeoutMs: context.timeoutMs, guard: context.guard });
    if (!result.ok) return result.failure;
    const { response } = result;
    const answer = isObject(response.json) ? response.json : {};
    const sent = answer['ok'] === true && isObject(answer['result']) ? answer['result'] : undefined;
    if (response.status >= 200 && response.status < 300 && sent) {
      const messageId = optionalText(sent['message_id']);
      const chatId = (isObject(sent['chat']) ? optionalText(sent['chat']['id']) : undefined) ?? message.to;
      if (messageId === undefined) return failure(response, true, 'telegram.unexpected_response', 'Telegram answered ok without result.message_id');
      return { ok: true, providerMessageId: `${chatId}:${messageId}`, responseCode: String(response.status) };
    }
    return telegramFailure(response, answer);
  }
}

const MEDIA_METHODS = { image: ['sendPhoto', 'photo'], audio: ['sendAudio', 'audio'], video: ['sendVideo', 'video'], file: ['sendDocument', 'document'] } as const;

function telegramCall(message: OutboundMessage): { method: string; payload: Record<string, unknown> } {
  if (message.media) {
    const [method, field] = MEDIA_METHODS[message.media.kind];
    const caption = message.media.caption ?? (message.body || undefined);
    return { method, payload: { chat_id: message.to, [field]: message.media.url, ...(caption ? { caption } : {}) } };
  }
  return { method: 'sendMessage', payload: { chat_id: message.to, text: message.body } };
}

/**
 * `{ok: false, error_code, description, parameters: {retry_after}}`. 400 (chat not found, empty text),
 * 401 (bad token), 403 (bot blocked, kicked) never succeed; 429 and 5xx are worth another try.
 */
function telegramFailure(response: ProviderResponse, answer: Record<string, unknown>): SendFailure {
  const errorCode = typeof answer['error_code'] === 'number' ? answer['error_code'] : response.status;
  const reason = optionalText(answer['description']) ?? (response.text.slice(0, 500) || `HTTP ${response.status}`);
  if (errorCode === 429 || isTransientStatus(errorCode) || isTransientStatus(response.status)) {
    const parameters = isObject(answer['parameters']) ? answer['parameters'] : {};
    const retryAfter = typeof parameters['retry_after'] === 'number' ? parameters['retry_after'] * 1000 : retryAfterMs(response.headers);
    return failure(response, false, `telegram.${errorCode}`, reason, retryAfter);
  }
  return failure(response, true, `telegram.${errorCode}`, reason);
}
