import { createHash } from 'node:crypto';
import { simpleParser, type ParsedMail } from 'mailparser';
import { DomainError } from '#domain';
import type { InboundAttachment, InboundMessageEvent } from '../channel-adapter.js';
import { stripQuotedHistory } from './quote-strip.js';

/**
 * Turns one raw MIME message into Ferry's inbound event: what the inbound-parse hook does with the
 * `email` field, and what the pipeline's SMTP listener (smtp-server) does with a received message.
 * The body is the reply without its quoted history; the raw MIME is kept beside it. Threading
 * (which conversation a reply joins) is the pipeline's: this exposes Message-ID, In-Reply-To and
 * References, angle brackets included, as Ferry's own Message-IDs are stored.
 */
export async function emailEventFromMime(raw: Buffer | string, receivedAt: Date): Promise<InboundMessageEvent> {
  const bytes = typeof raw === 'string' ? Buffer.from(raw, 'utf8') : raw;
  let mail: ParsedMail;
  try {
    mail = await simpleParser(bytes, { skipTextToHtml: true, skipImageLinks: true, keepCidLinks: true, checksumAlgo: false });
  } catch (error) {
    throw malformed(`the MIME message cannot be parsed (${error instanceof Error ? error.message : String(error)})`);
  }
  const from = mail.from?.value.find((address) => address.address);
  if (!from?.address) throw malformed('the message has no From address');

  const messageId = firstId(mail.messageId);
  // A message without a Message-ID still needs a stable key, so a redelivery dedupes.
  const eventId = messageId ?? `sha256:${createHash('sha256').update(bytes).digest('hex')}`;
  const sender: InboundMessageEvent['sender'] = { externalId: from.address.toLowerCase(), email: from.address.toLowerCase() };
  if (from.name?.trim()) sender.name = from.name.trim();

  const email: NonNullable<InboundMessageEvent['email']> = { messageId: eventId, references: idsOf(mail.references), raw: bytes.toString('utf8') };
  const inReplyTo = firstId(mail.inReplyTo);
  if (inReplyTo) email.inReplyTo = inReplyTo;
  if (mail.subject) email.subject = mail.subject;

  return {
    kind: 'message',
    providerEventId: eventId,
    providerMessageId: eventId,
    sender,
    body: stripQuotedHistory(mail.text ?? ''),
    // Inline (related) images included: a pasted screenshot matters more than a logo costs.
    attachments: mail.attachments.map(attachmentOf),
    // The sender's clock, unless it claims a time after we received the message.
    occurredAt: mail.date && !Number.isNaN(mail.date.getTime()) && mail.date <= receivedAt ? mail.date : receivedAt,
    email,
  };
}

function attachmentOf(attachment: ParsedMail['attachments'][number], index: number): InboundAttachment {
  const type = attachment.contentType.split('/')[0];
  const kind = type === 'image' || type === 'audio' || type === 'video' ? type : 'file';
  // The content stays in the raw MIME; the ref says which part to take from it.
  const out: InboundAttachment = { kind, ref: attachment.cid ? `cid:${attachment.cid}` : `part:${attachment.partId ?? index}`, mimeType: attachment.contentType };
  if (attachment.filename) out.name = attachment.filename;
  return out;
}

/** Message-IDs in a header value, brackets kept: `<a@x> <b@y>` -> ['<a@x>', '<b@y>']. */
function idsOf(value: string | string[] | undefined): string[] {
  const text = Array.isArray(value) ? value.join(' ') : (value ?? '');
  const ids = text.match(/<[^<>\s]+>/g);
  if (ids) return [...new Set(ids)];
  // Some clients drop the brackets: take the bare tokens that look like ids.
  return [...new Set(text.split(/[\s,]+/).filter((token) => token.includes('@')).map((token) => `<${token}>`))];
}

function firstId(value: string | undefined): string | undefined {
  return idsOf(value)[0];
}

function malformed(what: string): DomainError {
  return DomainError.invalid('hook.malformed', `Email: ${what}`);
}
