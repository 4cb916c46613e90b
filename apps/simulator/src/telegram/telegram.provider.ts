import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { TelegramAccount } from '../accounts.js';
import { type ProviderPlayer, type SimContext, dropConnection, header } from '../context.js';
import type { InboundResult } from '../hook-client.js';
import { randomDigits, unixSeconds } from '../ids.js';
import { type Json, SimInputError, formBody, optString, optTime, tryJson } from '../input.js';

const MAX_TEXT = 4096;

/** Telegram Bot API: /bot<token>/<method> (sendMessage, getMe, setWebhook) and webhook Updates. */
export class TelegramProvider implements ProviderPlayer<'telegram'> {
  readonly provider = 'telegram';
  private readonly updateIds = new Map<string, number>();
  private readonly messageIds = new Map<string, number>();

  constructor(private readonly sim: SimContext) {}

  routes(app: FastifyInstance): void {
    const handler = (request: FastifyRequest, reply: FastifyReply): Promise<unknown> => this.call(request, reply);
    app.post('/bot:token/:method', handler);
    app.get('/bot:token/:method', handler);
  }

  reset(): void {
    this.updateIds.clear();
    this.messageIds.clear();
  }

  private async call(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const { token, method } = request.params as { token: string; method: string };
    const account = this.sim.state.find('telegram', (a) => a.botToken === token);
    if (!account) return tgError(reply, 401, 'Unauthorized');
    const params = paramsOf(request);
    switch (method) {
      case 'getMe':
        return { ok: true, result: botUser(account) };
      case 'setWebhook':
        account.hookUrl = stringParam(params, 'url') || undefined;
        account.secretToken = stringParam(params, 'secret_token') || undefined;
        return { ok: true, result: true, description: 'Webhook was set' };
      case 'deleteWebhook':
        account.hookUrl = undefined;
        return { ok: true, result: true, description: 'Webhook was deleted' };
      case 'sendMessage':
        return this.sendMessage(account, params, request, reply);
      default:
        return tgError(reply, 404, 'Not Found');
    }
  }

  private async sendMessage(account: TelegramAccount, params: Json, request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const chatId = stringParam(params, 'chat_id');
    const text = stringParam(params, 'text');
    if (!chatId) return tgError(reply, 400, 'Bad Request: chat_id is empty');
    if (!text.trim()) return tgError(reply, 400, 'Bad Request: message text is empty');
    if (text.length > MAX_TEXT) return tgError(reply, 400, 'Bad Request: message is too long');
    const gate = await this.sim.behaviours.gate('telegram');
    if (gate === 'fail') {
      const behaviour = this.sim.behaviours.get('telegram');
      const status = behaviour.failStatus ?? 502;
      if (status === 429) return reply.code(429).send({ ok: false, error_code: 429, description: 'Too Many Requests: retry after 1', parameters: { retry_after: 1 } });
      return tgError(reply, status, status === 502 ? 'Bad Gateway' : 'Internal Server Error');
    }
    if (this.sim.state.user(account.id, chatId).blocked) return tgError(reply, 403, 'Forbidden: bot was blocked by the user');
    const messageId = this.nextMessageId(account, chatId);
    const date = unixSeconds();
    this.sim.state.record({ channel: 'telegram', accountId: account.id, providerMessageId: String(messageId), to: chatId, type: 'text', text, request: params });
    if (gate === 'lose') return dropConnection(request, reply);
    const chat = /^-?\d+$/.test(chatId) ? { id: Number(chatId), type: 'private' } : { id: chatId, type: 'channel' };
    return { ok: true, result: { message_id: messageId, from: botUser(account), chat, date, text } };
  }

  async inbound(account: TelegramAccount, message: Json, repeat: number): Promise<InboundResult> {
    if (!account.hookUrl) throw new SimInputError(`account ${account.id} has no hookUrl`);
    const chatId = Number(optString(message, 'from') ?? `7${randomDigits(9)}`);
    if (!Number.isSafeInteger(chatId)) throw new SimInputError('from must be a numeric chat id');
    const firstName = optString(message, 'name') ?? 'Simulated';
    const username = optString(message, 'username');
    const at = optTime(message, 'at') ?? Date.now();
    const editOf = optString(message, 'editOf');
    const messageId = editOf ? Number(editOf) : this.nextMessageId(account, String(chatId));
    const user: Json = { id: chatId, is_bot: false, first_name: firstName, ...(username ? { username } : {}), language_code: 'en' };
    const chat: Json = { id: chatId, first_name: firstName, ...(username ? { username } : {}), type: 'private' };
    const msg: Json = { message_id: messageId, from: user, chat, date: unixSeconds(at), text: optString(message, 'text') ?? 'Hello from the simulator' };
    if (editOf) msg['edit_date'] = unixSeconds();
    const updateId = (this.updateIds.get(account.id) ?? Number(randomDigits(8).replace(/^0/, '1'))) + 1;
    this.updateIds.set(account.id, updateId);
    const update = { update_id: updateId, [editOf ? 'edited_message' : 'message']: msg };
    this.sim.state.inbound(account.id, [String(chatId)], at);
    const body = JSON.stringify(update);
    const headers: Record<string, string> = { 'content-type': 'application/json' };
    if (account.secretToken) headers['x-telegram-bot-api-secret-token'] = account.secretToken;
    const deliveries = await this.sim.hooks.deliver(account.hookUrl, () => ({ headers, body }), repeat);
    return { ...deliveries[0]!, deliveries, url: account.hookUrl, payload: body, event: { updateId, messageId, chatId } };
  }

  /** In a private chat the user's and the bot's messages share one sequence of ids. */
  private nextMessageId(account: TelegramAccount, chatId: string): number {
    const key = `${account.id}|${chatId}`;
    const next = (this.messageIds.get(key) ?? 0) + 1;
    this.messageIds.set(key, next);
    return next;
  }
}

/** Bot API methods take JSON, a form, or the query string. */
function paramsOf(request: FastifyRequest): Json {
  const query = request.query as Json;
  const type = header(request, 'content-type') ?? '';
  const body = type.includes('json') ? (tryJson(request.body) ?? {}) : type.includes('form-urlencoded') ? formBody(request.body) : {};
  return { ...query, ...body };
}

function stringParam(params: Json, key: string): string {
  const value = params[key];
  return typeof value === 'string' || typeof value === 'number' ? String(value) : '';
}

function botUser(account: TelegramAccount): Json {
  return { id: Number(account.botToken.split(':')[0]) || 1, is_bot: true, first_name: 'Ferry Simulator', username: account.botUsername };
}

function tgError(reply: FastifyReply, status: number, description: string): FastifyReply {
  return reply.code(status).send({ ok: false, error_code: status, description });
}
