import type { OutboundMessage, SendContext, SendOutcome } from '../channel-adapter.js';
import type { SmsConfig } from '../config/channel-configs.js';
import { callProvider, failure, httpFailure, retryAfterMs } from '../provider-http.js';

const TWILIO_API = 'https://api.twilio.com';

/** Twilio error codes that no retry can fix (invalid or unsubscribed recipient, not a mobile, region off). */
const PERMANENT_CODES = new Set([21211, 21610, 21614, 21408]);

/** POST /2010-04-01/Accounts/{AccountSid}/Messages.json, form-encoded, HTTP Basic AccountSid:AuthToken. */
export async function sendTwilioMessage(message: OutboundMessage, config: SmsConfig, context: SendContext): Promise<SendOutcome> {
  const base = (config.apiBaseUrl ?? TWILIO_API).replace(/\/+$/, '');
  const form = new URLSearchParams({ To: message.to, Body: smsBody(message) });
  // A Messaging Service picks the sender itself (and wins at Twilio when both are given).
  if (config.messagingServiceSid) form.set('MessagingServiceSid', config.messagingServiceSid);
  else if (config.fromNumber) form.set('From', config.fromNumber);
  if (message.media) form.set('MediaUrl', message.media.url);
  form.set('StatusCallback', message.statusCallbackUrl);

  const result = await callProvider(`${base}/2010-04-01/Accounts/${encodeURIComponent(config.accountSid)}/Messages.json`, {
    method: 'POST',
    headers: {
      authorization: `Basic ${Buffer.from(`${config.accountSid}:${config.authToken}`).toString('base64')}`,
      'content-type': 'application/x-www-form-urlencoded',
      accept: 'application/json',
    },
    body: form.toString(),
    timeoutMs: context.timeoutMs,
    guard: context.guard,
    requestIdHeaders: ['twilio-request-id'],
  });
  if (!result.ok) return result.failure;
  const { response } = result;
  const body = response.json as { sid?: unknown; code?: unknown; message?: unknown } | undefined;

  if (response.status >= 200 && response.status < 300) {
    if (typeof body?.sid === 'string' && body.sid) {
      const outcome: SendOutcome = { ok: true, providerMessageId: body.sid, responseCode: String(response.status) };
      if (response.requestId) outcome.providerRequestId = response.requestId;
      return outcome;
    }
    // Accepted or not, we cannot tell: retried (the status callback, which carries our id, settles a doubt).
    return failure(response, false, 'twilio.bad_response', `no message sid in the answer: ${response.text.slice(0, 200) || '(empty)'}`);
  }

  const code = typeof body?.code === 'number' ? body.code : undefined;
  const reason = typeof body?.message === 'string' && body.message ? body.message : undefined;
  if (code === 20429 || response.status === 429) {
    return failure(response, false, `twilio.${code ?? 429}`, reason ?? 'Too many requests', retryAfterMs(response.headers, context.now()));
  }
  if (code !== undefined && PERMANENT_CODES.has(code)) return failure(response, true, `twilio.${code}`, reason ?? `Twilio error ${code}`);
  // Anything else: 5xx transient, other 4xx permanent, named by Twilio's code when it gave one.
  return httpFailure(response, reason, code !== undefined ? `twilio.${code}` : undefined);
}

function smsBody(message: OutboundMessage): string {
  if (message.body.trim() !== '' || !message.media?.caption) return message.body;
  return message.media.caption;
}
