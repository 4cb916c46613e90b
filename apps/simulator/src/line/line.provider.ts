import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { LineAccount } from '../accounts.js';
import { type ProviderPlayer, type SimContext, bearerToken, dropConnection, header } from '../context.js';
import type { InboundResult } from '../hook-client.js';
import { randomDigits, randomHex } from '../ids.js';
import { type Json, SimInputError, optNumber, optString, optTime, tryJson } from '../input.js';

/** How long a reply token is accepted (LINE: "about one minute"). */
const REPLY_TOKEN_TTL_MS = 60_000;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const USER_ID = /^[UCR][0-9a-f]{32}$/;
const CROCKFORD = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';

interface ReplyToken {
  accountId: string;
  userId: string;
  expiresAt: number;
  used: boolean;
}

interface Accepted {
  requestId: string;
  sentMessages: Json[];
}

const ulid = (): string => Array.from(randomBytes(26), (b) => CROCKFORD[b % 32]).join('');

/** LINE Messaging API: reply and push (with X-Line-Retry-Key), signed webhooks with reply tokens. */
export class LineProvider implements ProviderPlayer<'line'> {
  readonly provider = 'line';
  private readonly replyTokens = new Map<string, ReplyToken>();
  private readonly retryKeys = new Map<string, Accepted>();

  constructor(private readonly sim: SimContext) {}

  routes(app: FastifyInstance): void {
    app.post('/v2/bot/message/reply', (request, reply) => this.send('reply', request, reply));
    app.post('/v2/bot/message/push', (request, reply) => this.send('push', request, reply));
  }

  reset(): void {
    this.replyTokens.clear();
    this.retryKeys.clear();
  }

  private async send(kind: 'reply' | 'push', request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const requestId = randomUUID();
    reply.header('x-line-request-id', requestId);
    const token = bearerToken(request);
    const account = token ? this.sim.state.find('line', (a) => a.channelAccessToken === token) : undefined;
    if (!account) return reply.code(401).send({ message: 'Authentication failed. Confirm that the access token in the authorization header is valid.' });
    const retryKey = header(request, 'x-line-retry-key');
    if (kind === 'reply' && retryKey !== undefined) return reply.code(400).send({ message: 'X-Line-Retry-Key header cannot be specified for this API' });
    if (retryKey !== undefined && !UUID.test(retryKey)) return reply.code(400).send({ message: 'The value of the X-Line-Retry-Key header is invalid' });
    const body = tryJson(request.body);
    if (!body) return reply.code(400).send({ message: 'The request body could not be parsed as JSON' });
    const problem = validateMessages(body['messages']);
    if (problem) return reply.code(400).send({ message: 'The request body has 1 error(s)', details: [problem] });
    const to = kind === 'push' ? optStringSafe(body, 'to') : undefined;
    if (kind === 'push' && (!to || !USER_ID.test(to))) return reply.code(400).send({ message: "The property, 'to', in the request body is invalid (line -1, column -1)" });

    const retryId = retryKey === undefined ? undefined : `${account.id}|${retryKey.toLowerCase()}`;
    const accepted = retryId ? this.retryKeys.get(retryId) : undefined;
    if (accepted) {
      reply.header('x-line-accepted-request-id', accepted.requestId);
      return reply.code(409).send({ message: 'The retry key is already accepted', sentMessages: accepted.sentMessages });
    }
    const gate = await this.sim.behaviours.gate('line');
    if (gate === 'fail') return this.transientError(reply);
    let userId = to;
    if (kind === 'reply') {
      const replyToken = this.replyTokens.get(optStringSafe(body, 'replyToken') ?? '');
      if (!replyToken || replyToken.used || replyToken.accountId !== account.id || replyToken.expiresAt <= Date.now()) {
        return reply.code(400).send({ message: 'Invalid reply token' });
      }
      replyToken.used = true;
      userId = replyToken.userId;
    }
    const messages = body['messages'] as Json[];
    const sentMessages = messages.map(() => ({ id: randomDigits(18).replace(/^0/, '5'), quoteToken: randomBytes(64).toString('base64url') }));
    if (retryId) this.retryKeys.set(retryId, { requestId, sentMessages });
    const text = messages.map((m) => (m['type'] === 'text' ? String(m['text']) : `[${String(m['type'])}]`)).join('\n');
    this.sim.state.record({ channel: 'line', accountId: account.id, providerMessageId: sentMessages[0]!.id, ferryMessageId: retryKey, to: userId!, type: kind, text, request: body });
    if (gate === 'lose') return dropConnection(request, reply);
    return reply.send({ sentMessages });
  }

  private transientError(reply: FastifyReply): FastifyReply {
    const status = this.sim.behaviours.get('line').failStatus ?? 500;
    if (status === 429) return reply.code(429).send({ message: 'The API rate limit has been exceeded. Try again later.' });
    return reply.code(status).send({ message: 'An error occurred in the server' });
  }

  async inbound(account: LineAccount, message: Json, repeat: number): Promise<InboundResult> {
    if (!account.hookUrl) throw new SimInputError(`account ${account.id} has no hookUrl`);
    const userId = optString(message, 'from') ?? `U${randomHex(16)}`;
    if (!USER_ID.test(userId)) throw new SimInputError('from must be a LINE user id (U + 32 hex)');
    const type = optString(message, 'type') ?? 'message';
    const at = optTime(message, 'at') ?? Date.now();
    const event: Json = { type, timestamp: at, source: { type: 'user', userId }, webhookEventId: ulid(), deliveryContext: { isRedelivery: false }, mode: 'active' };
    let replyToken: string | undefined;
    if (type !== 'unfollow') {
      replyToken = randomHex(16);
      const ttl = optNumber(message, 'replyTokenTtlMs') ?? REPLY_TOKEN_TTL_MS;
      this.replyTokens.set(replyToken, { accountId: account.id, userId, expiresAt: Date.now() + ttl, used: false });
      event['replyToken'] = replyToken;
    }
    let messageId: string | undefined;
    if (type === 'message') {
      messageId = optString(message, 'id') ?? randomDigits(18).replace(/^0/, '5');
      event['message'] = { type: 'text', id: messageId, quoteToken: randomBytes(64).toString('base64url'), text: optString(message, 'text') ?? 'Hello from the simulator' };
      this.sim.state.inbound(account.id, [userId], at);
    } else if (type === 'follow') event['follow'] = { isUnblocked: false };
    else if (type !== 'unfollow') throw new SimInputError('type must be message, follow or unfollow');

    // A redelivery is the same event (same webhookEventId) flagged isRedelivery, signed again.
    const build = (attempt: number): { headers: Record<string, string>; body: string } => {
      const body = JSON.stringify({ destination: account.botUserId, events: [{ ...event, deliveryContext: { isRedelivery: attempt > 0 } }] });
      const signature = createHmac('sha256', account.channelSecret).update(body).digest('base64');
      return { headers: { 'content-type': 'application/json; charset=utf-8', 'x-line-signature': signature, 'user-agent': 'LineBotWebhook/2.0' }, body };
    };
    const deliveries = await this.sim.hooks.deliver(account.hookUrl, build, repeat);
    return { ...deliveries[0]!, deliveries, url: account.hookUrl, payload: build(0).body, event: { userId, messageId, replyToken, webhookEventId: event['webhookEventId'] } };
  }
}

function validateMessages(messages: unknown): Json | undefined {
  if (!Array.isArray(messages) || messages.length === 0) return { message: 'must be specified', property: 'messages' };
  if (messages.length > 5) return { message: 'Size must be between 1 and 5', property: 'messages' };
  for (const [i, m] of messages.entries()) {
    const message = m as Json;
    if (typeof message !== 'object' || message === null || typeof message['type'] !== 'string') return { message: 'must be specified', property: `messages[${i}].type` };
    if (message['type'] === 'text' && (typeof message['text'] !== 'string' || message['text'] === '')) return { message: 'must be specified', property: `messages[${i}].text` };
  }
  return undefined;
}

function optStringSafe(body: Json, key: string): string | undefined {
  const value = body[key];
  return typeof value === 'string' && value !== '' ? value : undefined;
}
