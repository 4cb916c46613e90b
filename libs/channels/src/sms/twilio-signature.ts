import { createHmac } from 'node:crypto';
import { safeEqual } from '../provider-http.js';

/*
 * Twilio's X-Twilio-Signature (webhook security): base64 HMAC-SHA1, keyed with the auth token, of
 * the full URL Twilio called followed by every POST parameter's name and value, in name order.
 */

/** Form parameters as Twilio signs them: a name sent twice keeps every (distinct) value. */
export type TwilioParams = Record<string, string | string[]>;

export function twilioSignature(authToken: string, url: string, params: TwilioParams = {}): string {
  let data = url;
  for (const name of Object.keys(params).sort()) {
    const value = params[name]!;
    // Repeated names: each distinct value, sorted, as Twilio's own validator does.
    const values = Array.isArray(value) ? [...new Set(value)].sort() : [value];
    for (const v of values) data += name + v;
  }
  return createHmac('sha1', authToken).update(Buffer.from(data, 'utf8')).digest('base64');
}

/**
 * Checks the header in constant time against the URL as received, and with the default port
 * removed or added: Twilio documents that the port it signs may differ from the one it calls.
 */
export function twilioSignatureMatches(authToken: string, signature: string | undefined, url: string, params: TwilioParams = {}): boolean {
  if (!signature) return false;
  const candidates = new Set([url, withoutPort(url), withDefaultPort(url)]);
  let ok = false;
  for (const candidate of candidates) ok = safeEqual(twilioSignature(authToken, candidate, params), signature) || ok;
  return ok;
}

/** Parses an x-www-form-urlencoded body the way Twilio's validator sees it. */
export function parseTwilioForm(body: string): TwilioParams {
  // No prototype: a parameter named __proto__ or constructor is just a parameter.
  const params = Object.create(null) as TwilioParams;
  for (const [name, value] of new URLSearchParams(body)) {
    const existing = params[name];
    if (existing === undefined) params[name] = value;
    else params[name] = Array.isArray(existing) ? [...existing, value] : [existing, value];
  }
  return params;
}

const AUTHORITY = /^(https?:\/\/)([^/?#@]*@)?(\[[^\]]*\]|[^/?#:]*)(:\d+)?(.*)$/i;

function withoutPort(url: string): string {
  const m = AUTHORITY.exec(url);
  return m ? `${m[1]}${m[2] ?? ''}${m[3]}${m[5]}` : url;
}

function withDefaultPort(url: string): string {
  const m = AUTHORITY.exec(url);
  if (!m || m[4]) return url;
  return `${m[1]}${m[2] ?? ''}${m[3]}${m[1]!.toLowerCase() === 'https://' ? ':443' : ':80'}${m[5]}`;
}
