import type { Channel } from '#domain';
import type { OutboundMessage } from '#channels';
import type { TemplateRef } from '#database';
import type { EmailThreadRow } from './outbound-messages.repository.js';

/** Where a provider that takes a callback per message (Twilio StatusCallback) posts its receipts. */
export function statusCallbackUrl(publicUrl: string, channel: Channel, inboxId: string, messageId: string): string {
  return `${publicUrl}/hooks/${channel}/${inboxId}?messageId=${encodeURIComponent(messageId)}`;
}

/**
 * The subject and threading headers of an email reply, from the conversation's earlier mails (newest
 * first): it answers the customer's latest mail (In-Reply-To), names the thread (References, oldest
 * first) and keeps its subject with one "Re: ". A conversation without mail gets `fallbackSubject`.
 */
export function emailThreading(thread: EmailThreadRow[], fallbackSubject: string): NonNullable<OutboundMessage['email']> {
  const latestInbound = thread.find((mail) => mail.direction === 'in');
  const subject = (latestInbound ?? thread[0])?.emailSubject?.trim() || fallbackSubject;
  const references = thread.map((mail) => mail.emailMessageId).reverse();
  return {
    subject: /^re:/i.test(subject) ? subject : `Re: ${subject}`,
    ...(latestInbound ? { inReplyTo: latestInbound.emailMessageId } : {}),
    references,
  };
}

export interface OutboundRequestInput {
  message: { id: string; conversationId: string; body: string; template: TemplateRef | null };
  to: string;
  channel: Channel;
  inboxId: string;
  publicUrl: string;
  replyToken: string | null;
  email: OutboundMessage['email'] | undefined;
}

/** What the adapter is asked to send: our message id is the provider's idempotency key where it takes one. */
export function outboundRequest(input: OutboundRequestInput): OutboundMessage {
  const { message } = input;
  return {
    messageId: message.id,
    conversationId: message.conversationId,
    to: input.to,
    body: message.body,
    ...(message.template ? { template: { name: message.template.name, language: message.template.language, parameters: message.template.parameters } } : {}),
    ...(input.replyToken ? { replyToken: input.replyToken } : {}),
    ...(input.email ? { email: input.email } : {}),
    statusCallbackUrl: statusCallbackUrl(input.publicUrl, input.channel, input.inboxId, message.id),
  };
}
