import { DomainError, type Channel } from '#domain';
import type { ChannelAdapter, HookRequest, OutboundMessage, ParsedHook, SendContext, SendOutcome, VerifyOutcome } from '../channel-adapter.js';
import type { EmailConfig } from '../config/channel-configs.js';
import { safeEqual } from '../provider-http.js';
import { emailEventFromMime } from './email-inbound.js';
import { sendEmail } from './email-send.js';
import { MultipartError, multipartBoundary, parseMultipart } from './multipart.js';

/** The user name of the inbound hook's Basic auth; the password is the inbox's inboundSecret. */
export const EMAIL_HOOK_USER = 'ferry';

/**
 * Email: replies over SMTP; inbound through an inbound-parse webhook in SendGrid's raw mode
 * (multipart/form-data whose `email` field is the full MIME message), protected by HTTP Basic auth
 * on the hook URL (https://ferry:<inboundSecret>@host/hooks/email/<inboxId>). Self-hosters receive
 * over Ferry's SMTP listener instead, which reuses emailEventFromMime.
 */
export class EmailAdapter implements ChannelAdapter<EmailConfig> {
  readonly channel: Channel = 'email';

  verify(request: HookRequest, config: EmailConfig): VerifyOutcome {
    if (!config.inboundSecret) return rejected('inbound mail is off for this inbox (no inboundSecret)');
    if (request.method !== 'POST') return rejected('the inbound-parse hook takes POST only');
    const credentials = basicCredentials(request.headers['authorization']);
    if (!credentials) return rejected('HTTP Basic credentials are missing');
    // Both compared, always: which one was wrong takes no less time to find out.
    const userOk = safeEqual(credentials.user, EMAIL_HOOK_USER);
    const passwordOk = safeEqual(credentials.password, config.inboundSecret);
    return userOk && passwordOk ? { kind: 'verified' } : rejected('HTTP Basic credentials do not match');
  }

  async parse(request: HookRequest, _config: EmailConfig): Promise<ParsedHook> {
    const boundary = multipartBoundary(request.headers['content-type']);
    if (!boundary) throw malformed('expected multipart/form-data with a boundary');
    let raw: Buffer | undefined;
    try {
      raw = parseMultipart(request.rawBody, boundary).find((part) => part.name === 'email')?.data;
    } catch (error) {
      if (error instanceof MultipartError) throw malformed(`the multipart body cannot be read: ${error.message}`);
      throw error;
    }
    if (!raw || raw.length === 0) throw malformed('no `email` field: turn on "POST the raw, full MIME message" for this inbound-parse hook');
    return { events: [await emailEventFromMime(raw, request.receivedAt)], reply: { status: 200, contentType: 'text/plain', body: '' } };
  }

  send(message: OutboundMessage, config: EmailConfig, context: SendContext): Promise<SendOutcome> {
    return sendEmail(message, config, context);
  }
}

function basicCredentials(header: string | undefined): { user: string; password: string } | null {
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header ?? '');
  if (!match) return null;
  const decoded = Buffer.from(match[1]!, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  return colon < 0 ? null : { user: decoded.slice(0, colon), password: decoded.slice(colon + 1) };
}

function malformed(what: string): DomainError {
  return DomainError.invalid('hook.malformed', `Inbound email: ${what}`);
}

function rejected(reason: string): Extract<VerifyOutcome, { kind: 'rejected' }> {
  return { kind: 'rejected', code: 'hook.invalid_signature', reason: `Email: ${reason}` };
}
