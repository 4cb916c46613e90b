import { createHmac } from 'node:crypto';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { SmsAccount } from '../accounts.js';
import { type ProviderPlayer, type SimContext, dropConnection, header } from '../context.js';
import type { HookDelivery, InboundResult, OutgoingRequest } from '../hook-client.js';
import { randomDigits, randomHex } from '../ids.js';
import { type Json, SimInputError, formBody, optString } from '../input.js';
import type { SentRecord } from '../state.js';

const API_VERSION = '2010-04-01';
const E164 = /^\+[1-9]\d{6,14}$/;
const SHORT_OR_ALPHA = /^([A-Za-z0-9 ]{1,11}|\d{5,6})$/;

/** Twilio's X-Twilio-Signature: base64 HMAC-SHA1 (auth token) of the URL followed by each POST param's name and value, sorted by name. */
export function twilioSignature(authToken: string, url: string, params: Record<string, string>): string {
  const data = url + Object.keys(params).sort().map((key) => key + params[key]).join('');
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

const rfc2822 = (date: Date = new Date()): string => date.toUTCString().replace('GMT', '+0000');

/** Twilio Programmable Messaging: the Messages resource, status callbacks, incoming-message webhooks. */
export class TwilioProvider implements ProviderPlayer<'sms'> {
  readonly provider = 'sms';

  constructor(private readonly sim: SimContext) {}

  routes(app: FastifyInstance): void {
    app.post(`/${API_VERSION}/Accounts/:sid/Messages.json`, (request, reply) => this.send(request, reply));
  }

  private async send(request: FastifyRequest, reply: FastifyReply): Promise<unknown> {
    const { sid } = request.params as { sid: string };
    const [user, password] = basicAuth(header(request, 'authorization'));
    const account = user === undefined ? undefined : this.sim.state.find('sms', (a) => a.accountSid === user);
    if (!account || account.authToken !== password) {
      reply.header('www-authenticate', 'Basic realm="Twilio API"');
      return twilioError(reply, 401, 20003, 'Authenticate');
    }
    if (sid !== account.accountSid) return twilioError(reply, 404, 20404, `The requested resource /${API_VERSION}/Accounts/${sid}/Messages.json was not found`);
    const form = formBody(request.body);
    const to = form['To'];
    const from = form['From'];
    const serviceSid = form['MessagingServiceSid'];
    const body = form['Body'];
    if (!to) return twilioError(reply, 400, 21604, "A 'To' phone number is required.");
    if (!from && !serviceSid) return twilioError(reply, 400, 21603, "A 'From' phone number is required.");
    if (!body && !form['MediaUrl']) return twilioError(reply, 400, 21602, 'Message body is required.');
    if (!E164.test(to)) return twilioError(reply, 400, 21211, `Invalid 'To' Phone Number: ${to}`);
    if (from && !E164.test(from) && !SHORT_OR_ALPHA.test(from)) return twilioError(reply, 400, 21212, `Invalid From Number (caller ID): ${from}`);
    if (serviceSid && !/^MG[0-9a-f]{32}$/.test(serviceSid)) return twilioError(reply, 400, 21703, 'The Messaging Service Sid is invalid.');
    const callback = form['StatusCallback'];
    if (callback !== undefined && !/^https?:\/\//.test(callback)) return twilioError(reply, 400, 21609, 'Invalid StatusCallback');

    const gate = await this.sim.behaviours.gate('sms');
    if (gate === 'fail') return this.transientError(reply);
    const messageSid = `SM${randomHex(16)}`;
    let ferryMessageId: string | undefined;
    if (callback) ferryMessageId = new URL(callback).searchParams.get('messageId') ?? undefined;
    const record = this.sim.state.record({ channel: 'sms', accountId: account.id, providerMessageId: messageSid, ferryMessageId, to, type: form['MediaUrl'] ? 'mms' : 'sms', text: body, request: form });
    this.scheduleReceipts(account, record);
    if (gate === 'lose') return dropConnection(request, reply);
    const now = rfc2822();
    return reply.code(201).send({
      account_sid: account.accountSid,
      api_version: API_VERSION,
      body: body ?? '',
      date_created: now,
      date_sent: null,
      date_updated: now,
      direction: 'outbound-api',
      error_code: null,
      error_message: null,
      from: from ?? null,
      messaging_service_sid: serviceSid ?? null,
      num_media: form['MediaUrl'] ? '1' : '0',
      num_segments: String(Math.max(1, Math.ceil((body ?? '').length / 153))),
      price: null,
      price_unit: 'USD',
      sid: messageSid,
      status: serviceSid && !from ? 'accepted' : 'queued',
      subresource_uris: { media: `/${API_VERSION}/Accounts/${account.accountSid}/Messages/${messageSid}/Media.json` },
      to,
      uri: `/${API_VERSION}/Accounts/${account.accountSid}/Messages/${messageSid}.json`,
    });
  }

  private transientError(reply: FastifyReply): FastifyReply {
    const behaviour = this.sim.behaviours.get('sms');
    const status = behaviour.failStatus ?? 503;
    if (status === 429) return twilioError(reply, 429, behaviour.failCode ?? 20429, 'Too Many Requests');
    return twilioError(reply, status, behaviour.failCode ?? 20500, 'Internal Server Error');
  }

  private scheduleReceipts(account: SmsAccount, record: SentRecord): void {
    const callback = (record.request as Record<string, string>)['StatusCallback'];
    if (!callback || !this.sim.behaviours.receiptsOn('sms')) return;
    const behaviour = this.sim.behaviours.get('sms');
    this.sim.hooks.receipts(record, callback, behaviour.receipts ?? ['sent', 'delivered'], behaviour.receiptDelayMs, (status) => this.statusPost(account, record, status, callback));
  }

  async receipt(providerMessageId: string, status: string, repeat: number): Promise<HookDelivery[]> {
    const record = this.sim.state.findSent('sms', providerMessageId);
    if (!record) throw new SimInputError(`no sent sms ${providerMessageId}`);
    if (!['queued', 'sent', 'delivered', 'undelivered', 'failed'].includes(status)) throw new SimInputError('status must be queued, sent, delivered, undelivered or failed');
    const callback = (record.request as Record<string, string>)['StatusCallback'];
    if (!callback) throw new SimInputError(`message ${providerMessageId} was sent without a StatusCallback`);
    const account = this.sim.state.resolveAccount('sms', record.accountId);
    const request = this.statusPost(account, record, status, callback);
    return this.sim.hooks.deliver(callback, () => request, repeat);
  }

  /** A status callback as Twilio posts it: form-encoded, signed over the exact StatusCallback URL. */
  private statusPost(account: SmsAccount, record: SentRecord, status: string, url: string): OutgoingRequest {
    const form = record.request as Record<string, string>;
    const params: Record<string, string> = {
      AccountSid: account.accountSid,
      ApiVersion: API_VERSION,
      From: form['From'] ?? account.fromNumber ?? '',
      MessageSid: record.providerMessageId,
      MessageStatus: status,
      SmsSid: record.providerMessageId,
      SmsStatus: status,
      To: record.to,
    };
    if (form['MessagingServiceSid']) params['MessagingServiceSid'] = form['MessagingServiceSid'];
    if (status === 'undelivered' || status === 'failed') {
      params['ErrorCode'] = String(this.sim.behaviours.get('sms').receiptErrorCode ?? (status === 'undelivered' ? 30003 : 30008));
    }
    return signedForm(account, url, params);
  }

  async inbound(account: SmsAccount, message: Json, repeat: number): Promise<InboundResult> {
    if (!account.hookUrl) throw new SimInputError(`account ${account.id} has no hookUrl`);
    const from = optString(message, 'from') ?? `+1555${randomDigits(7)}`;
    const to = optString(message, 'to') ?? account.fromNumber ?? '+15550000000';
    const messageSid = optString(message, 'id') ?? `SM${randomHex(16)}`;
    const media = Array.isArray(message['mediaUrls']) ? (message['mediaUrls'] as unknown[]).map(String) : [];
    const params: Record<string, string> = {
      ToCountry: 'US',
      ToState: 'CA',
      SmsMessageSid: messageSid,
      NumMedia: String(media.length),
      ToCity: '',
      FromZip: '',
      SmsSid: messageSid,
      FromState: '',
      SmsStatus: 'received',
      FromCity: '',
      Body: optString(message, 'text') ?? 'Hello from the simulator',
      FromCountry: 'US',
      To: to,
      ToZip: '',
      NumSegments: '1',
      MessageSid: messageSid,
      AccountSid: account.accountSid,
      From: from,
      ApiVersion: API_VERSION,
    };
    media.forEach((url, i) => {
      params[`MediaUrl${i}`] = url;
      params[`MediaContentType${i}`] = 'image/jpeg';
    });
    if (account.messagingServiceSid) params['MessagingServiceSid'] = account.messagingServiceSid;
    this.sim.state.inbound(account.id, [from], Date.now());
    const request = signedForm(account, account.hookUrl, params);
    const deliveries = await this.sim.hooks.deliver(account.hookUrl, () => request, repeat);
    return { ...deliveries[0]!, deliveries, url: account.hookUrl, payload: request.body, event: { messageSid, from, to, signature: request.headers?.['x-twilio-signature'] } };
  }
}

function signedForm(account: SmsAccount, url: string, params: Record<string, string>): OutgoingRequest {
  return {
    headers: {
      'content-type': 'application/x-www-form-urlencoded; charset=utf-8',
      'x-twilio-signature': twilioSignature(account.authToken, url, params),
      'i-twilio-idempotency-token': randomHex(16),
      'user-agent': 'TwilioProxy/1.1',
    },
    body: new URLSearchParams(params).toString(),
  };
}

function basicAuth(value: string | undefined): [string | undefined, string | undefined] {
  const match = /^Basic\s+(.+)$/i.exec(value ?? '');
  if (!match) return [undefined, undefined];
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? [decoded, undefined] : [decoded.slice(0, colon), decoded.slice(colon + 1)];
}

function twilioError(reply: FastifyReply, status: number, code: number, message: string): FastifyReply {
  return reply.code(status).send({ code, message, more_info: `https://www.twilio.com/docs/errors/${code}`, status });
}
