import { isObject, optionalText } from '../hook-payload.js';
import { failure, isTransientStatus, type ProviderResponse, retryAfterMs, type SendFailure } from '../provider-http.js';

/*
 * Graph API error codes for the Cloud API (https://developers.facebook.com/docs/whatsapp/cloud-api/support/error-codes).
 * Meta answers most of them with HTTP 400 whatever their nature, so the code decides, not the status.
 */
const TRANSIENT = new Set([
  1, // API unknown
  2, // API service: temporary downtime or overload
  4, // app-level request limit
  80007, // WABA rate limit
  130429, // throughput limit of the number
  131000, // something went wrong
  131016, // service unavailable
  131056, // pair rate limit: too many messages to this user
  133004, // server temporarily unavailable
]);

/** Codes that will never succeed for this message (for the record: anything else unknown falls back to the status). */
const PERMANENT = new Set([
  3, // capability or permission
  10, // permission denied
  100, // invalid parameter
  190, // access token expired
  131008, // required parameter missing
  131009, // parameter value invalid
  131021, // recipient is the sender
  131026, // message undeliverable
  131030, // recipient not in the allowed list (test numbers)
  131031, // account locked
  131042, // payment problem
  131045, // certificate
  131047, // re-engagement: more than 24 h since the customer last wrote
  131049, // not delivered to keep the ecosystem healthy
  131051, // unsupported message type
  131052, // media download error
  131053, // media upload error
  131062, // BSUID recipients not supported for this message
  132000, // template parameter count mismatch
  132001, // template does not exist
  132005, // translated text too long
  132007, // template format character policy
  132012, // template parameter format mismatch
  132015, // template paused
  132016, // template disabled
  133010, // phone number not registered
]);

/** Reads Meta's `{error: {code, message, error_data: {details}, fbtrace_id}}`; falls back to the HTTP status. */
export function whatsappFailure(response: ProviderResponse): SendFailure {
  const body = isObject(response.json) ? response.json : {};
  const error = isObject(body['error']) ? body['error'] : undefined;
  const code = typeof error?.['code'] === 'number' ? error['code'] : undefined;
  const withTrace = response.requestId ? response : { ...response, requestId: optionalText(error?.['fbtrace_id']) };
  if (code === undefined) {
    const transient = isTransientStatus(response.status);
    return failure(withTrace, !transient, `whatsapp.http_${response.status}`, response.text.slice(0, 500) || `HTTP ${response.status}`, transient ? retryAfterMs(response.headers) : undefined);
  }
  const data = isObject(error?.['error_data']) ? error['error_data'] : {};
  const parts = [optionalText(error?.['error_user_title']) ?? optionalText(error?.['title']), optionalText(error?.['message']), optionalText(data['details'])].filter(
    (p): p is string => p !== undefined,
  );
  const reason = parts.filter((p, i) => parts.indexOf(p) === i).join(': ') || `WhatsApp error ${code}`;
  const transient = TRANSIENT.has(code) || (!PERMANENT.has(code) && isTransientStatus(response.status));
  return failure(withTrace, !transient, `whatsapp.${code}`, reason, transient ? retryAfterMs(response.headers) : undefined);
}
