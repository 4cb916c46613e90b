import { createTransport } from 'nodemailer';
import type { OutboundMessage, SendContext, SendOutcome } from '../channel-adapter.js';
import type { EmailConfig } from '../config/channel-configs.js';

/**
 * Sends one reply over the inbox's SMTP server. Our own Message-ID (`<messageId@domain>`) and the
 * thread's In-Reply-To and References make the customer's client thread the reply, and let the
 * customer's next answer find its conversation.
 */
export async function sendEmail(message: OutboundMessage, config: EmailConfig, context: SendContext): Promise<SendOutcome> {
  // One recipient, always: "a@x, b@y" in an identity must not fan a reply out to two people.
  if (!SINGLE_ADDRESS.test(message.to)) {
    return { ok: false, permanent: true, code: 'email.invalid_recipient', reason: `not a single email address: ${message.to.slice(0, 200)}` };
  }
  const messageIdHeader = emailMessageId(message.messageId, config.fromAddress);
  const transport = createTransport({
    host: config.smtp.host,
    port: config.smtp.port,
    secure: config.smtp.secure,
    ...(config.smtp.user ? { auth: { user: config.smtp.user, pass: config.smtp.password ?? '' } } : {}),
    connectionTimeout: context.timeoutMs,
    greetingTimeout: context.timeoutMs,
    socketTimeout: context.timeoutMs,
    // A message body never makes the server read a file or fetch a URL.
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  try {
    const info = await transport.sendMail({
      from: config.fromName ? { name: config.fromName, address: config.fromAddress } : config.fromAddress,
      to: { name: '', address: message.to },
      subject: message.email?.subject ?? '',
      text: textOf(message),
      messageId: messageIdHeader,
      ...(message.email?.inReplyTo ? { inReplyTo: message.email.inReplyTo } : {}),
      ...(message.email?.references.length ? { references: message.email.references } : {}),
    });
    const response = typeof info.response === 'string' ? info.response : '';
    const outcome: SendOutcome = { ok: true, providerMessageId: messageIdHeader, responseCode: /^\d{3}/.exec(response)?.[0] ?? '250' };
    // Postfix and most relays name their queue id: the closest thing SMTP has to a request id.
    const queueId = /queued as ([^\s;]+)/i.exec(response)?.[1];
    if (queueId) outcome.providerRequestId = queueId;
    return outcome;
  } catch (error) {
    return smtpFailure(error);
  } finally {
    transport.close();
  }
}

const SINGLE_ADDRESS = /^[^\s@,;<>"]+@[^\s@,;<>"]+$/;

/** Our Message-ID for a Ferry message: stable, so a resend of the same message carries the same id. */
export function emailMessageId(messageId: string, fromAddress: string): string {
  const domain = fromAddress.slice(fromAddress.lastIndexOf('@') + 1) || 'ferry.invalid';
  return `<${messageId}@${domain}>`;
}

interface SmtpError {
  code?: string;
  responseCode?: number;
  response?: string;
  message?: string;
}

/** 5xx replies are final (with the server's words as the reason); 4xx and lost connections are worth a retry. */
function smtpFailure(error: unknown): SendOutcome {
  const e = (typeof error === 'object' && error !== null ? error : { message: String(error) }) as SmtpError;
  const reason = (e.response || e.message || 'SMTP error').slice(0, 1000);
  if (typeof e.responseCode === 'number') {
    return { ok: false, permanent: e.responseCode >= 500, code: `smtp.${e.responseCode}`, reason, responseCode: String(e.responseCode) };
  }
  // Refused before talking to the server (no valid recipient or sender): no retry changes that.
  if (e.code === 'EENVELOPE' || e.code === 'EMESSAGE') return { ok: false, permanent: true, code: `smtp.${e.code.toLowerCase()}`, reason };
  return { ok: false, permanent: false, code: `smtp.${(e.code ?? 'connection').toLowerCase()}`, reason };
}

/** SMTP carries no media link for us: a media message goes as its caption and link in the text. */
function textOf(message: OutboundMessage): string {
  if (!message.media) return message.body;
  return [message.body, message.media.caption, message.media.url].filter((part) => part && part.trim() !== '').join('\n\n');
}
