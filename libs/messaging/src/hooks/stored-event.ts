import {
  type ContactEvent,
  DELIVERY_STATUSES,
  type DeliveryStatus,
  type HookEvent,
  type InboundAttachment,
  type InboundMessageEvent,
  type SenderProfile,
  type StatusEvent,
} from '#channels';
import type { InboundEventKind } from '#database';

/**
 * How a provider event is kept in inbound_events and read back by the worker. The event is stored as
 * JSON (dates as ISO strings); what comes back out is checked field by field, because a row written
 * by an older release (or edited by hand for a replay) must fail with a reason, not crash a worker.
 */

/** The raw body is kept for audit; beyond this many bytes the rest is cut (the parsed event is whole). */
export const RAW_BODY_LIMIT = 256 * 1024;

export class MalformedStoredEvent extends Error {
  constructor(reason: string) {
    super(`Stored event is malformed: ${reason}`);
    this.name = 'MalformedStoredEvent';
  }
}

// Postgres text and jsonb refuse NUL characters and lone surrogates; a provider may relay either.
// eslint-disable-next-line no-control-regex -- NUL is exactly what this finds
const UNSTORABLE = /\u0000|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

export function storableText(value: string): string {
  return value.replace(UNSTORABLE, '\uFFFD');
}

/** The event as JSON text Postgres accepts: dates become ISO strings, unstorable characters U+FFFD. */
export function eventJson(event: HookEvent): string {
  return JSON.stringify(event, (_key, value: unknown) => (typeof value === 'string' ? storableText(value) : value));
}

/** The raw body as text for audit: UTF-8 (invalid bytes replaced), cut at RAW_BODY_LIMIT bytes with a note. */
export function rawBodyText(body: Buffer, limit = RAW_BODY_LIMIT): string | null {
  if (body.length === 0) return null;
  const text = storableText(body.subarray(0, limit).toString('utf8'));
  return body.length > limit ? `${text}\n[cut: ${body.length} bytes in all, the first ${limit} kept]` : text;
}

export function jobFor(kind: InboundEventKind): 'inbound.process' | 'status.apply' {
  return kind === 'status' ? 'status.apply' : 'inbound.process';
}

/** Reads a stored event back into a HookEvent, or throws MalformedStoredEvent naming the first bad field. */
export function readStoredEvent(kind: InboundEventKind, stored: unknown): HookEvent {
  const event = object(stored, 'event');
  if (event['kind'] !== kind) throw new MalformedStoredEvent(`kind is ${String(event['kind'])}, the row says ${kind}`);
  const providerEventId = text(event['providerEventId'], 'providerEventId');
  const occurredAt = date(event['occurredAt'], 'occurredAt');
  switch (kind) {
    case 'message':
      return messageEvent(event, providerEventId, occurredAt);
    case 'status':
      return statusEvent(event, providerEventId, occurredAt);
    case 'contact': {
      const action = event['action'];
      if (action !== 'subscribed' && action !== 'unsubscribed') throw new MalformedStoredEvent('action must be subscribed or unsubscribed');
      const contact: ContactEvent = { kind: 'contact', providerEventId, sender: sender(event['sender']), action, occurredAt };
      return contact;
    }
  }
}

function messageEvent(event: Record<string, unknown>, providerEventId: string, occurredAt: Date): InboundMessageEvent {
  const message: InboundMessageEvent = {
    kind: 'message',
    providerEventId,
    providerMessageId: text(event['providerMessageId'], 'providerMessageId'),
    sender: sender(event['sender']),
    body: typeof event['body'] === 'string' ? event['body'] : fail('body must be a string'),
    attachments: list(event['attachments'] ?? [], 'attachments').map((item, i) => attachment(item, `attachments[${i}]`)),
    occurredAt,
  };
  if (event['editOf'] !== undefined) message.editOf = text(event['editOf'], 'editOf');
  if (event['replyToken'] !== undefined) {
    const token = object(event['replyToken'], 'replyToken');
    message.replyToken = { token: text(token['token'], 'replyToken.token'), expiresAt: date(token['expiresAt'], 'replyToken.expiresAt') };
  }
  if (event['email'] !== undefined) {
    const email = object(event['email'], 'email');
    message.email = {
      messageId: text(email['messageId'], 'email.messageId'),
      references: list(email['references'] ?? [], 'email.references').map((r, i) => text(r, `email.references[${i}]`)),
      raw: typeof email['raw'] === 'string' ? email['raw'] : '',
    };
    const inReplyTo = optional(email['inReplyTo'], 'email.inReplyTo');
    if (inReplyTo !== undefined) message.email.inReplyTo = inReplyTo;
    const subject = typeof email['subject'] === 'string' ? email['subject'] : undefined;
    if (subject !== undefined) message.email.subject = subject;
  }
  return message;
}

function statusEvent(event: Record<string, unknown>, providerEventId: string, occurredAt: Date): StatusEvent {
  const status = event['status'];
  if (!DELIVERY_STATUSES.includes(status as DeliveryStatus)) throw new MalformedStoredEvent(`status must be one of ${DELIVERY_STATUSES.join(', ')}`);
  const result: StatusEvent = {
    kind: 'status',
    providerEventId,
    providerMessageId: text(event['providerMessageId'], 'providerMessageId'),
    status: status as DeliveryStatus,
    occurredAt,
  };
  const messageId = optional(event['messageId'], 'messageId');
  if (messageId !== undefined) result.messageId = messageId;
  if (event['error'] !== undefined) {
    const error = object(event['error'], 'error');
    result.error = { code: text(error['code'], 'error.code'), reason: typeof error['reason'] === 'string' ? error['reason'] : '' };
  }
  return result;
}

function sender(value: unknown): SenderProfile {
  const raw = object(value, 'sender');
  const profile: SenderProfile = { externalId: text(raw['externalId'], 'sender.externalId') };
  for (const field of ['name', 'phone', 'email'] as const) {
    const given = optional(raw[field], `sender.${field}`);
    if (given !== undefined) profile[field] = given;
  }
  return profile;
}

const ATTACHMENT_KINDS: ReadonlyArray<InboundAttachment['kind']> = ['image', 'audio', 'video', 'file', 'location', 'link', 'sticker'];

function attachment(value: unknown, where: string): InboundAttachment {
  const raw = object(value, where);
  if (!ATTACHMENT_KINDS.includes(raw['kind'] as InboundAttachment['kind'])) throw new MalformedStoredEvent(`${where}.kind is not an attachment kind`);
  const result: InboundAttachment = { kind: raw['kind'] as InboundAttachment['kind'], ref: text(raw['ref'], `${where}.ref`) };
  const mimeType = optional(raw['mimeType'], `${where}.mimeType`);
  if (mimeType !== undefined) result.mimeType = mimeType;
  const name = optional(raw['name'], `${where}.name`);
  if (name !== undefined) result.name = name;
  return result;
}

function fail(reason: string): never {
  throw new MalformedStoredEvent(reason);
}

function object(value: unknown, what: string): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) fail(`${what} must be an object`);
  return value as Record<string, unknown>;
}

function list(value: unknown, what: string): unknown[] {
  if (!Array.isArray(value)) fail(`${what} must be an array`);
  return value;
}

function text(value: unknown, what: string): string {
  if (typeof value !== 'string' || value.length === 0) fail(`${what} must be a non-empty string`);
  return value;
}

function optional(value: unknown, what: string): string | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  return text(value, what);
}

function date(value: unknown, what: string): Date {
  const parsed = typeof value === 'string' ? new Date(value) : null;
  if (!parsed || Number.isNaN(parsed.getTime())) fail(`${what} must be an ISO date`);
  return parsed;
}

/** Why processing an event failed, as kept on its row. */
export function failureText(error: unknown): string {
  if (error instanceof Error) {
    const code = (error as { code?: unknown }).code;
    return typeof code === 'string' && code.length > 0 ? `${code}: ${error.message}` : `${error.name}: ${error.message}`;
  }
  return String(error);
}
