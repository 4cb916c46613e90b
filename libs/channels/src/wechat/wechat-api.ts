import type { OutboundMessage, SendContext, SendOutcome } from '../channel-adapter.js';
import type { WechatConfig } from '../config/channel-configs.js';
import { callProvider, failure, httpFailure, type ProviderResponse, type SendFailure } from '../provider-http.js';

/*
 * The WeChat API calls Ferry makes: the access_token (cgi-bin/token, shared by every worker through
 * the TokenCache) and the customer-service message (cgi-bin/message/custom/send), which may reach a
 * follower within 48 h of their last message.
 */

const WECHAT_API = 'https://api.weixin.qq.com';

/** errcodes meaning the access_token is no longer good: drop it from the cache, fetch again on retry. */
const TOKEN_ERRORS = new Set([40001, 40014, 42001]);
/** Busy or rate-limited: another try later can succeed. */
const TRANSIENT_ERRORS = new Set([-1, 45009]);

/**
 * A token belongs to the appId at the endpoint that issued it: an inbox pointed at a regional gateway, a
 * bridge or a simulator has tokens of its own, which WeChat's own API would refuse (40001), and back.
 */
export function tokenCacheKey(config: WechatConfig): string {
  return config.apiBaseUrl ? `wechat:${config.appId}@${baseUrl(config)}` : `wechat:${config.appId}`;
}

/** Thrown out of the TokenCache fetch so the send can answer the token call's own failure. */
class TokenFetchError extends Error {
  constructor(readonly failure: SendFailure) {
    super(failure.reason);
  }
}

export async function sendCustomerServiceText(message: OutboundMessage, config: WechatConfig, context: SendContext): Promise<SendOutcome> {
  const base = baseUrl(config);
  const key = tokenCacheKey(config);
  let token: string;
  try {
    token = await context.tokens.get(key, () => fetchAccessToken(config, context));
  } catch (error) {
    if (error instanceof TokenFetchError) return error.failure;
    return { ok: false, permanent: false, code: 'wechat.token_unavailable', reason: error instanceof Error ? error.message : String(error) };
  }

  const result = await callProvider(`${base}/cgi-bin/message/custom/send?access_token=${encodeURIComponent(token)}`, {
    method: 'POST',
    json: { touser: message.to, msgtype: 'text', text: { content: contentOf(message) } },
    timeoutMs: context.timeoutMs,
    guard: context.guard,
  });
  if (!result.ok) return result.failure;
  const { response } = result;
  const answer = errorOf(response);
  if (!answer) return unreadable(response);
  if (answer.errcode === 0) {
    // The customer-service API answers no message id: ours stands in for it (receipts never cite one).
    return { ok: true, providerMessageId: `wechat:${message.messageId}`, responseCode: String(response.status) };
  }
  const code = `wechat.${answer.errcode}`;
  if (TOKEN_ERRORS.has(answer.errcode)) {
    await context.tokens.invalidate(key, token);
    return failure(response, false, code, answer.errmsg);
  }
  if (TRANSIENT_ERRORS.has(answer.errcode)) return failure(response, false, code, answer.errmsg);
  // 45015 (outside the 48 h window), 45047 (reply count used up), 43004 (unsubscribed), 40003
  // (unknown OpenID) and the rest of WeChat's documented errors cannot succeed by retrying.
  return failure(response, true, code, answer.errmsg);
}

async function fetchAccessToken(config: WechatConfig, context: SendContext): Promise<{ token: string; expiresInSeconds: number }> {
  const query = new URLSearchParams({ grant_type: 'client_credential', appid: config.appId, secret: config.appSecret });
  const result = await callProvider(`${baseUrl(config)}/cgi-bin/token?${query.toString()}`, { method: 'GET', timeoutMs: context.timeoutMs, guard: context.guard });
  if (!result.ok) throw new TokenFetchError(result.failure);
  const { response } = result;
  const body = response.json as { access_token?: unknown; expires_in?: unknown } | undefined;
  if (typeof body?.access_token === 'string' && body.access_token !== '') {
    const expiresIn = typeof body.expires_in === 'number' && body.expires_in > 0 ? body.expires_in : 7200;
    return { token: body.access_token, expiresInSeconds: expiresIn };
  }
  const answer = errorOf(response);
  if (!answer) throw new TokenFetchError(unreadable(response));
  // A wrong AppSecret (40001/40125), an unknown AppId (40013), a server IP not on the account's
  // whitelist (40164): no retry fixes these until someone fixes the inbox.
  const transient = TRANSIENT_ERRORS.has(answer.errcode);
  throw new TokenFetchError(failure(response, !transient, `wechat.${answer.errcode}`, `access_token: ${answer.errmsg}`));
}

function errorOf(response: ProviderResponse): { errcode: number; errmsg: string } | null {
  const body = response.json as { errcode?: unknown; errmsg?: unknown } | undefined;
  if (typeof body?.errcode !== 'number') return null;
  return { errcode: body.errcode, errmsg: typeof body.errmsg === 'string' && body.errmsg ? body.errmsg : `errcode ${body.errcode}` };
}

/** A 2xx WeChat did not explain may have been acted on or not: retry it rather than fail it for good. */
function unreadable(response: ProviderResponse): SendFailure {
  if (response.status >= 300) return httpFailure(response);
  return failure(response, false, 'wechat.bad_response', `unreadable answer: ${response.text.slice(0, 200) || '(empty)'}`);
}

/** Customer-service text carries no media: a media message goes as its caption and link. */
function contentOf(message: OutboundMessage): string {
  if (!message.media) return message.body;
  return [message.body, message.media.caption, message.media.url].filter((part) => part && part.trim() !== '').join('\n');
}

function baseUrl(config: WechatConfig): string {
  return (config.apiBaseUrl ?? WECHAT_API).replace(/\/+$/, '');
}
