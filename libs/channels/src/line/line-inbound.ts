import type { ContactEvent, HookEvent, InboundAttachment, InboundMessageEvent, SenderProfile } from '../channel-adapter.js';
import { arrayAt, epochAt, isObject, type JsonObject, malformed, objectAt, optionalText, readJsonBody, requiredText } from '../hook-payload.js';

/**
 * LINE documents that a reply token must be used within one minute of the webhook, and does not
 * guarantee it afterwards. We count the minute from the event's own timestamp (or from our receipt
 * when that is earlier, e.g. a skewed clock), never later: a redelivered or queued event has already
 * spent part of its minute. The sender should also keep its own margin (its timeout) before expiresAt.
 */
export const LINE_REPLY_TOKEN_TTL_MS = 60_000;

/** Reads a LINE Messaging API webhook body `{destination, events[]}` (an empty list is the console's check). */
export function parseLineHook(rawBody: Buffer, receivedAt: Date): HookEvent[] {
  const body = objectAt(readJsonBody(rawBody), 'The body');
  const events: HookEvent[] = [];
  for (const [i, raw] of arrayAt(body['events'], 'events').entries()) {
    const where = `events[${i}]`;
    const event = objectAt(raw, where);
    const type = requiredText(event['type'], `${where}.type`);
    if (type !== 'message' && type !== 'follow' && type !== 'unfollow') continue; // joins, postbacks, unsend...: not handled
    const providerEventId = requiredText(event['webhookEventId'], `${where}.webhookEventId`);
    const occurredAt = epochAt(event['timestamp'], `${where}.timestamp`, 'milliseconds');
    const sender = senderOf(objectAt(event['source'], `${where}.source`), `${where}.source`);
    if (type === 'message') {
      events.push(messageEvent(event, providerEventId, sender, occurredAt, receivedAt, where));
    } else {
      const contact: ContactEvent = { kind: 'contact', providerEventId, sender, action: type === 'follow' ? 'subscribed' : 'unsubscribed', occurredAt };
      events.push(contact);
    }
  }
  return events;
}

/** Who we answer: the user in a 1:1 chat, the group or room in a group chat. */
function senderOf(source: JsonObject, where: string): SenderProfile {
  const type = requiredText(source['type'], `${where}.type`);
  if (type === 'group') return { externalId: requiredText(source['groupId'], `${where}.groupId`) };
  if (type === 'room') return { externalId: requiredText(source['roomId'], `${where}.roomId`) };
  if (type === 'user') return { externalId: requiredText(source['userId'], `${where}.userId`) };
  throw malformed(`${where}.type must be user, group or room`);
}

function messageEvent(event: JsonObject, providerEventId: string, sender: SenderProfile, occurredAt: Date, receivedAt: Date, where: string): InboundMessageEvent {
  const message = objectAt(event['message'], `${where}.message`);
  const id = requiredText(message['id'], `${where}.message.id`);
  const content = readContent(message, `${where}.message`);
  const parsed: InboundMessageEvent = { kind: 'message', providerEventId, providerMessageId: id, sender, body: content.body, attachments: content.attachments, occurredAt };
  const replyToken = optionalText(event['replyToken']);
  if (replyToken) {
    const from = Math.min(occurredAt.getTime(), receivedAt.getTime());
    parsed.replyToken = { token: replyToken, expiresAt: new Date(from + LINE_REPLY_TOKEN_TTL_MS) };
  }
  return parsed;
}

const MEDIA_KINDS: Record<string, InboundAttachment['kind']> = { image: 'image', video: 'video', audio: 'audio', file: 'file' };

function readContent(message: JsonObject, where: string): { body: string; attachments: InboundAttachment[] } {
  const type = requiredText(message['type'], `${where}.type`);
  const mediaKind = MEDIA_KINDS[type];
  if (mediaKind) {
    // Content sent through LINE is fetched by message id; an external provider gives its URL.
    const provider = isObject(message['contentProvider']) ? message['contentProvider'] : {};
    const external = provider['type'] === 'external' ? optionalText(provider['originalContentUrl']) : undefined;
    const attachment: InboundAttachment = { kind: mediaKind, ref: external ?? requiredText(message['id'], `${where}.id`) };
    const name = optionalText(message['fileName']);
    if (name) attachment.name = name;
    return { body: '', attachments: [attachment] };
  }
  switch (type) {
    case 'text':
      return { body: requiredText(message['text'], `${where}.text`), attachments: [] };
    case 'location': {
      const lat = requiredText(message['latitude'], `${where}.latitude`);
      const lng = requiredText(message['longitude'], `${where}.longitude`);
      const label = [optionalText(message['title']), optionalText(message['address'])].filter(Boolean).join(', ');
      const attachment: InboundAttachment = { kind: 'location', ref: `${lat},${lng}` };
      if (label) attachment.name = label;
      return { body: label, attachments: [attachment] };
    }
    case 'sticker': {
      const ref = `${requiredText(message['packageId'], `${where}.packageId`)}/${requiredText(message['stickerId'], `${where}.stickerId`)}`;
      return { body: optionalText(message['text']) ?? '', attachments: [{ kind: 'sticker', ref }] };
    }
    default:
      return { body: `[${type} message]`, attachments: [] };
  }
}
