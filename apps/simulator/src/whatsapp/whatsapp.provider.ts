import { createHmac, randomBytes } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { WhatsappAccount } from '../accounts.js';
import { type ProviderPlayer, type SimContext, bearerToken, dropConnection } from '../context.js';
import { randomDigits, randomHex, unixSeconds } from '../ids.js';
import type { HookDelivery, InboundResult } from '../hook-client.js';
import { type Json, SimInputError, jsonBody, optString, optTime, reqString, tryJson } from '../input.js';
import type { SentRecord } from '../state.js';
import { WhatsappTemplates } from './whatsapp-templates.js';

const WINDOW_MS = 24 * 60 * 60 * 1000;
const FREE_FORM_TYPES = new Set(['text', 'image', 'audio', 'video', 'document', 'sticker', 'location', 'contacts', 'interactive', 'reaction']);

const wamid = (): string => `wamid.${randomBytes(30).toString('base64url')}`;
const digitsOf = (phone: string): string => phone.replace(/\D/g, '');

/** WhatsApp Cloud API: POST /{version}/{phone-number-id}/messages, status and message webhooks. */
export class WhatsappProvider implements ProviderPlayer<'whatsapp'> {
  readonly provider = 'whatsapp';
  private readonly templates = new WhatsappTemplates();

  constructor(private readonly sim: SimContext) {}

  routes(app: FastifyInstance): void {
    app.post('/:version/:phoneNumberId/messages', (request, reply) => this.send(request, reply));
    app.get('/:version/:wabaId/message_templates', (request, reply) => this.listTemplates(request, reply));
    // Control: an account's templates (the defaults until replaced); accounts made after a reset start from the defaults.
    app.get('/_sim/whatsapp/templates', async (request) => {
      const account = this.sim.state.resolveAccount('whatsapp', reqString(request.query as Json, 'account'));
      return { templates: this.templates.of(account.id) };
    });
    app.post('/_sim/whatsapp/templates', async (request) => {
      const body = jsonBody(request.body);
      const account = this.sim.state.resolveAccount('whatsapp', reqString(body, 'account'));
      return { templates: this.templates.replace(account.id, body['templates']) };
    });
  }

  /** GET /{version}/{waba-id}/message_templates: the account's templates, ?status= filter, cursor paging. */
  private async listTemplates(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const { wabaId } = request.params as { wabaId: string };
    const query = request.query as Record<string, string | undefined>;
    const token = bearerToken(request);
    const holder = token ? this.sim.state.find('whatsapp', (a) => a.accessToken === token) : undefined;
    if (!holder) return graphError(reply, 401, 190, 'Invalid OAuth access token - Cannot parse access token');
    const account = this.sim.state.find('whatsapp', (a) => a.accessToken === token && a.wabaId === wabaId);
    if (!account) {
      return graphError(reply, 400, 100, `Unsupported get request. Object with ID '${wabaId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, { type: 'GraphMethodException', error_subcode: 33 });
    }
    const status = query['status']?.toUpperCase();
    const all = this.templates.of(account.id).filter((t) => !status || t.status === status);
    const limit = Math.min(Math.max(Number(query['limit']) || 25, 1), 1000);
    const start = query['after'] ? Number(Buffer.from(query['after'], 'base64url').toString()) || 0 : 0;
    const data = all.slice(start, start + limit);
    const cursor = (index: number): string => Buffer.from(String(index)).toString('base64url');
    const paging: Json = { cursors: { before: cursor(start), after: cursor(start + data.length) } };
    if (start + data.length < all.length) {
      const next = new URL(`${request.protocol}://${request.host}${request.url}`);
      next.searchParams.set('after', cursor(start + data.length));
      paging['next'] = next.toString();
    }
    return reply.send({ data, paging });
  }

  private async send(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const { phoneNumberId } = request.params as { phoneNumberId: string };
    const token = bearerToken(request);
    const account = this.sim.state.find('whatsapp', (a) => a.phoneNumberId === phoneNumberId);
    if (!token || !account || account.accessToken !== token) {
      if (token && !account && this.sim.state.find('whatsapp', (a) => a.accessToken === token)) {
        return graphError(reply, 400, 100, `Unsupported post request. Object with ID '${phoneNumberId}' does not exist, cannot be loaded due to missing permissions, or does not support this operation.`, { type: 'GraphMethodException', error_subcode: 33 });
      }
      return graphError(reply, 401, 190, 'Invalid OAuth access token - Cannot parse access token');
    }
    const body = tryJson(request.body);
    const invalid = body ? validate(body) : 'Request body must be JSON';
    if (!body || invalid) return graphError(reply, 400, 100, '(#100) Invalid parameter', { error_data: { messaging_product: 'whatsapp', details: invalid } });

    const gate = await this.sim.behaviours.gate('whatsapp');
    if (gate === 'fail') return this.transientError(reply);
    const to = optString(body, 'to');
    const recipient = to ? digitsOf(to) : optString(body, 'recipient')!;
    const type = optString(body, 'type') ?? 'text';
    if (type === 'template') {
      const problem = this.templates.checkSend(account.id, body['template'] as Json | undefined);
      if (problem) return graphError(reply, 400, problem.code, problem.message, { error_data: { messaging_product: 'whatsapp', details: problem.details } });
    } else {
      const user = this.sim.state.user(account.id, recipient);
      if (user.lastInboundAt === undefined || Date.now() - user.lastInboundAt > WINDOW_MS) {
        return graphError(reply, 400, 131047, '(#131047) Re-engagement message', {
          error_data: { messaging_product: 'whatsapp', details: 'Message failed to send because more than 24 hours have passed since the customer last replied to this number.' },
        });
      }
    }
    const id = wamid();
    const callbackData = optString(body, 'biz_opaque_callback_data');
    const text = type === 'text' ? optString(body['text'] as Json, 'body') : undefined;
    const record = this.sim.state.record({ channel: 'whatsapp', accountId: account.id, providerMessageId: id, ferryMessageId: callbackData, to: to ?? recipient, type, text, request: body });
    this.scheduleReceipts(account, record);
    if (gate === 'lose') return dropConnection(request, reply);
    const contact = to ? { input: to, wa_id: recipient } : { input: recipient, user_id: recipient };
    return reply.send({ messaging_product: 'whatsapp', contacts: [contact], messages: [type === 'template' ? { id, message_status: 'accepted' } : { id }] });
  }

  private transientError(reply: FastifyReply): FastifyReply {
    const behaviour = this.sim.behaviours.get('whatsapp');
    const status = behaviour.failStatus ?? 503;
    if (status === 429) {
      return graphError(reply, 429, behaviour.failCode ?? 130429, '(#130429) Rate limit hit', { error_data: { messaging_product: 'whatsapp', details: 'Cloud API message throughput has been reached.' } });
    }
    return graphError(reply, status, behaviour.failCode ?? 131016, '(#131016) Service unavailable', { error_data: { messaging_product: 'whatsapp', details: 'A service is temporarily unavailable.' } });
  }

  private scheduleReceipts(account: WhatsappAccount, record: SentRecord): void {
    const behaviour = this.sim.behaviours.get('whatsapp');
    if (!account.hookUrl || !this.sim.behaviours.receiptsOn('whatsapp')) return;
    const statuses = behaviour.receipts ?? ['sent', 'delivered', 'read'];
    this.sim.hooks.receipts(record, account.hookUrl, statuses, behaviour.receiptDelayMs, (status) => this.signedPost(account, this.statusPayload(account, record, status)));
  }

  async receipt(providerMessageId: string, status: string, repeat: number): Promise<HookDelivery[]> {
    const record = this.sim.state.findSent('whatsapp', providerMessageId);
    if (!record) throw new SimInputError(`no sent whatsapp message ${providerMessageId}`);
    if (!['sent', 'delivered', 'read', 'failed'].includes(status)) throw new SimInputError('status must be sent, delivered, read or failed');
    const account = this.sim.state.resolveAccount('whatsapp', record.accountId);
    if (!account.hookUrl) throw new SimInputError(`account ${account.id} has no hookUrl`);
    const payload = this.statusPayload(account, record, status);
    return this.sim.hooks.deliver(account.hookUrl, () => this.signedPost(account, payload), repeat);
  }

  private statusPayload(account: WhatsappAccount, record: SentRecord, status: string): Json {
    const request = record.request as Json;
    const isPhone = optString(request, 'to') !== undefined;
    const template = record.type === 'template';
    const category = template ? 'utility' : 'service';
    const entry: Json = {
      id: record.providerMessageId,
      status,
      timestamp: String(unixSeconds()),
      ...(isPhone ? { recipient_id: digitsOf(record.to) } : { recipient_user_id: record.to }),
    };
    const callbackData = optString(request, 'biz_opaque_callback_data');
    if (callbackData !== undefined) entry['biz_opaque_callback_data'] = callbackData;
    if (status === 'failed') {
      const code = this.sim.behaviours.get('whatsapp').receiptErrorCode ?? 131026;
      entry['errors'] = [{ code, title: 'Message undeliverable', message: 'Message undeliverable', error_data: { details: 'Message could not be delivered to the recipient (simulated).' } }];
    } else {
      const conversation: Json = { id: randomHex(16), origin: { type: category } };
      if (status === 'sent') conversation['expiration_timestamp'] = String(unixSeconds() + 24 * 3600);
      entry['conversation'] = conversation;
      entry['pricing'] = { billable: true, pricing_model: 'PMP', category };
    }
    return envelope(account, { statuses: [entry] });
  }

  async inbound(account: WhatsappAccount, message: Json, repeat: number): Promise<InboundResult> {
    if (!account.hookUrl) throw new SimInputError(`account ${account.id} has no hookUrl`);
    const bsuid = optString(message, 'bsuid');
    const phone = optString(message, 'from') ?? (bsuid ? undefined : `1555${randomDigits(7)}`);
    const waId = phone ? digitsOf(phone) : undefined;
    const at = optTime(message, 'at') ?? Date.now();
    const type = optString(message, 'type') ?? 'text';
    const id = optString(message, 'id') ?? wamid();
    const profile: Json = { name: optString(message, 'name') ?? 'Simulated Customer' };
    const contact: Json = { profile };
    if (waId) contact['wa_id'] = waId;
    if (bsuid) contact['user_id'] = bsuid;
    const msg: Json = { id, timestamp: String(unixSeconds(at)), type };
    if (waId) msg['from'] = waId;
    if (bsuid) msg['from_user_id'] = bsuid;
    if (type === 'text') msg['text'] = { body: optString(message, 'text') ?? 'Hello from the simulator' };
    else if (message[type] !== undefined) msg[type] = message[type];
    else throw new SimInputError(`a ${type} message needs its "${type}" object`);
    if (message['context'] !== undefined) msg['context'] = message['context'];

    this.sim.state.inbound(account.id, [waId, bsuid], at);
    const payload = envelope(account, { contacts: [contact], messages: [msg] });
    const request = this.signedPost(account, payload);
    const deliveries = await this.sim.hooks.deliver(account.hookUrl, () => request, repeat);
    return { ...deliveries[0]!, deliveries, url: account.hookUrl, payload: request.body, event: { messageId: id, waId, bsuid, timestamp: msg['timestamp'] } };
  }

  async handshake(account: WhatsappAccount, input: Json): Promise<{ delivery: HookDelivery; challenge: string; echoed: boolean }> {
    if (!account.hookUrl) throw new SimInputError(`account ${account.id} has no hookUrl`);
    const challenge = String(Math.floor(Math.random() * 1e9));
    const url = new URL(account.hookUrl);
    url.searchParams.set('hub.mode', 'subscribe');
    url.searchParams.set('hub.verify_token', optString(input, 'verifyToken') ?? account.verifyToken ?? '');
    url.searchParams.set('hub.challenge', challenge);
    const delivery = await this.sim.hooks.send(url.toString(), { method: 'GET' });
    return { delivery, challenge, echoed: delivery.status === 200 && String(delivery.body).trim() === challenge };
  }

  private signedPost(account: WhatsappAccount, payload: Json): { headers: Record<string, string>; body: string } {
    const body = JSON.stringify(payload);
    const signature = createHmac('sha256', account.appSecret).update(body).digest('hex');
    return { headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${signature}`, 'user-agent': 'facebookexternalua' }, body };
  }
}

function envelope(account: WhatsappAccount, value: Json): Json {
  return {
    object: 'whatsapp_business_account',
    entry: [
      {
        id: account.wabaId,
        changes: [{ value: { messaging_product: 'whatsapp', metadata: { display_phone_number: account.displayPhoneNumber, phone_number_id: account.phoneNumberId }, ...value }, field: 'messages' }],
      },
    ],
  };
}

/** The parameter checks the Cloud API makes before anything else; undefined when the body is fine. */
function validate(body: Json): string | undefined {
  if (body['messaging_product'] !== 'whatsapp') return 'The parameter messaging_product is required and must be "whatsapp".';
  const to = body['to'] ?? body['recipient'];
  if (typeof to !== 'string' || to.trim() === '') return 'The parameter to is required.';
  if (body['to'] !== undefined && !/^[1-9]\d{6,14}$/.test(digitsOf(String(body['to'])))) return 'Invalid parameter to: not a phone number.';
  const type = body['type'] ?? 'text';
  if (typeof type !== 'string') return 'The parameter type must be a string.';
  if (type === 'template') {
    const template = body['template'] as Json | undefined;
    const language = template?.['language'] as Json | undefined;
    if (typeof template?.['name'] !== 'string' || typeof language?.['code'] !== 'string') return 'The parameter template requires name and language.code.';
    return undefined;
  }
  if (!FREE_FORM_TYPES.has(type)) return `Unsupported message type ${type}.`;
  if (type === 'text') {
    const text = body['text'] as Json | undefined;
    if (typeof text?.['body'] !== 'string' || text['body'] === '') return 'The parameter text.body is required.';
    return undefined;
  }
  const media = body[type] as Json | undefined;
  if (typeof media !== 'object' || media === null) return `The parameter ${type} is required.`;
  if (['image', 'audio', 'video', 'document', 'sticker'].includes(type) && typeof media['link'] !== 'string' && typeof media['id'] !== 'string') {
    return `The parameter ${type} requires link or id.`;
  }
  return undefined;
}

function graphError(reply: FastifyReply, status: number, code: number, message: string, extra: Json = {}): FastifyReply {
  const type = (extra['type'] as string | undefined) ?? 'OAuthException';
  const error: Json = { message, type, code, ...extra, fbtrace_id: randomBytes(12).toString('base64url') };
  if (status === 401) reply.header('www-authenticate', 'OAuth "Facebook Platform" "invalid_token" "Invalid OAuth access token"');
  return reply.code(status).send({ error });
}
