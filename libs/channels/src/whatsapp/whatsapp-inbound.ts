import type { HookEvent, InboundAttachment, InboundMessageEvent, SenderProfile, StatusEvent } from '../channel-adapter.js';
import { arrayAt, epochAt, isObject, type JsonObject, malformed, objectAt, optionalText, readJsonBody, requiredText } from '../hook-payload.js';

/**
 * Reads a WhatsApp Cloud API webhook: `entry[].changes[].value` with `messages`, `contacts` and
 * `statuses` (https://developers.facebook.com/docs/whatsapp/cloud-api/webhooks/components).
 *
 * Users are identified by `wa_id` (their phone) when Meta gives it, else by their business-scoped
 * user id (BSUID, `contacts[].user_id` / `messages[].from_user_id`, e.g. `US.13491208655302741918`):
 * a user who adopted a username may reach the business with no phone number at all.
 */
export function parseWhatsappHook(rawBody: Buffer, phoneNumberId: string): HookEvent[] {
  const body = objectAt(readJsonBody(rawBody), 'The body');
  if (body['object'] !== undefined && body['object'] !== 'whatsapp_business_account') throw malformed('object must be whatsapp_business_account');
  const events: HookEvent[] = [];
  for (const [e, entry] of arrayAt(body['entry'], 'entry').entries()) {
    for (const [c, change] of arrayAt(objectAt(entry, `entry[${e}]`)['changes'], `entry[${e}].changes`).entries()) {
      const where = `entry[${e}].changes[${c}]`;
      const { field, value } = objectAt(change, where);
      if (field !== undefined && field !== 'messages') continue; // template, quality and account updates: not conversations
      const v = objectAt(value, `${where}.value`);
      // One Meta app can serve several numbers through one callback URL: keep only this inbox's number.
      const metadata = isObject(v['metadata']) ? v['metadata'] : {};
      const numberId = optionalText(metadata['phone_number_id']);
      if (numberId !== undefined && numberId !== phoneNumberId) continue;
      const contacts = v['contacts'] === undefined ? [] : arrayAt(v['contacts'], `${where}.value.contacts`).map((x, i) => objectAt(x, `${where}.value.contacts[${i}]`));
      if (v['messages'] !== undefined) {
        for (const [m, message] of arrayAt(v['messages'], `${where}.value.messages`).entries()) {
          const event = messageEvent(objectAt(message, `${where}.value.messages[${m}]`), contacts, `${where}.value.messages[${m}]`);
          if (event) events.push(event);
        }
      }
      if (v['statuses'] !== undefined) {
        for (const [s, status] of arrayAt(v['statuses'], `${where}.value.statuses`).entries()) {
          const event = statusEvent(objectAt(status, `${where}.value.statuses[${s}]`), `${where}.value.statuses[${s}]`);
          if (event) events.push(event);
        }
      }
    }
  }
  return events;
}

function messageEvent(message: JsonObject, contacts: JsonObject[], where: string): InboundMessageEvent | undefined {
  const id = requiredText(message['id'], `${where}.id`);
  const type = requiredText(message['type'], `${where}.type`);
  if (type === 'system') return undefined; // "user changed number" notices: from WhatsApp, not from the customer
  const content = readContent(type, message, where);
  return {
    kind: 'message',
    providerEventId: id,
    providerMessageId: id,
    sender: senderOf(message, contacts, where),
    body: content.body,
    attachments: content.attachments,
    occurredAt: epochAt(message['timestamp'], `${where}.timestamp`, 'seconds'),
  };
}

function senderOf(message: JsonObject, contacts: JsonObject[], where: string): SenderProfile {
  const from = optionalText(message['from']);
  const fromUserId = optionalText(message['from_user_id']);
  const contact =
    contacts.find((c) => (from !== undefined && optionalText(c['wa_id']) === from) || (fromUserId !== undefined && optionalText(c['user_id']) === fromUserId)) ??
    (contacts.length === 1 ? contacts[0] : undefined);
  const waId = from ?? optionalText(contact?.['wa_id']);
  const bsuid = fromUserId ?? optionalText(contact?.['user_id']);
  const externalId = waId ?? bsuid;
  if (externalId === undefined) throw malformed(`${where} names no sender (from, from_user_id or a contact's wa_id/user_id)`);
  const profile = isObject(contact?.['profile']) ? contact['profile'] : {};
  const sender: SenderProfile = { externalId };
  const name = optionalText(profile['name']) ?? optionalText(profile['username']);
  if (name !== undefined) sender.name = name;
  if (waId !== undefined && /^\d{6,15}$/.test(waId)) sender.phone = `+${waId}`;
  return sender;
}

const MEDIA_KINDS: Record<string, InboundAttachment['kind']> = { image: 'image', video: 'video', audio: 'audio', document: 'file', sticker: 'sticker' };

function readContent(type: string, message: JsonObject, where: string): { body: string; attachments: InboundAttachment[] } {
  const part = isObject(message[type]) ? message[type] : undefined;
  const mediaKind = MEDIA_KINDS[type];
  if (mediaKind) {
    const media = objectAt(message[type], `${where}.${type}`);
    const attachment: InboundAttachment = { kind: mediaKind, ref: requiredText(media['id'], `${where}.${type}.id`) };
    const mimeType = optionalText(media['mime_type']);
    const name = optionalText(media['filename']);
    if (mimeType) attachment.mimeType = mimeType;
    if (name) attachment.name = name;
    return { body: optionalText(media['caption']) ?? '', attachments: [attachment] };
  }
  switch (type) {
    case 'text':
      return { body: requiredText(objectAt(message['text'], `${where}.text`)['body'], `${where}.text.body`), attachments: [] };
    case 'location': {
      const at = objectAt(message['location'], `${where}.location`);
      const lat = requiredText(at['latitude'], `${where}.location.latitude`);
      const lng = requiredText(at['longitude'], `${where}.location.longitude`);
      const label = [optionalText(at['name']), optionalText(at['address'])].filter(Boolean).join(', ');
      const attachment: InboundAttachment = { kind: 'location', ref: `${lat},${lng}` };
      if (label) attachment.name = label;
      return { body: label, attachments: [attachment] };
    }
    case 'interactive': {
      // A tap on a reply button or a list row: the title is what the customer "said".
      const reply = part && (isObject(part['button_reply']) ? part['button_reply'] : isObject(part['list_reply']) ? part['list_reply'] : undefined);
      const nfm = part && isObject(part['nfm_reply']) ? part['nfm_reply'] : undefined;
      const body = optionalText(reply?.['title']) ?? optionalText(nfm?.['body']);
      if (body === undefined) throw malformed(`${where}.interactive carries no button_reply, list_reply or nfm_reply`);
      return { body, attachments: [] };
    }
    case 'button':
      return { body: requiredText(objectAt(message['button'], `${where}.button`)['text'], `${where}.button.text`), attachments: [] };
    case 'reaction':
      return { body: optionalText(part?.['emoji']) ?? '', attachments: [] };
    case 'contacts': {
      const cards = Array.isArray(message['contacts']) ? message['contacts'].filter(isObject) : [];
      const lines = cards.map((card) => {
        const name = isObject(card['name']) ? optionalText(card['name']['formatted_name']) : undefined;
        const phones = Array.isArray(card['phones']) ? card['phones'].filter(isObject).map((p) => optionalText(p['phone'])) : [];
        return [name, ...phones].filter(Boolean).join(' ');
      });
      return { body: lines.join('\n'), attachments: [] };
    }
    default:
      // `unsupported` and kinds added later: keep the message so the agent sees something arrived.
      return { body: `[${type} message]`, attachments: [] };
  }
}

const STATUSES = new Set(['sent', 'delivered', 'read', 'failed']);

function statusEvent(status: JsonObject, where: string): StatusEvent | undefined {
  const id = requiredText(status['id'], `${where}.id`);
  const state = requiredText(status['status'], `${where}.status`);
  if (!STATUSES.has(state)) return undefined; // `deleted`, `warning`, `played`: not delivery steps
  const event: StatusEvent = {
    kind: 'status',
    providerEventId: `${id}:${state}`,
    providerMessageId: id,
    status: state as StatusEvent['status'],
    occurredAt: epochAt(status['timestamp'], `${where}.timestamp`, 'seconds'),
  };
  const callbackData = optionalText(status['biz_opaque_callback_data']);
  if (callbackData !== undefined) event.messageId = callbackData;
  if (state === 'failed') {
    const first = Array.isArray(status['errors']) ? status['errors'].find(isObject) : undefined;
    event.error = first ? errorOf(first) : { code: 'whatsapp.unknown', reason: 'WhatsApp reported the message failed without a reason' };
  }
  return event;
}

function errorOf(error: JsonObject): { code: string; reason: string } {
  const data = isObject(error['error_data']) ? error['error_data'] : {};
  const parts = [optionalText(error['title']), optionalText(error['message']), optionalText(data['details'])].filter((p): p is string => p !== undefined);
  const reason = parts.filter((p, i) => parts.indexOf(p) === i).join(': ');
  return { code: `whatsapp.${optionalText(error['code']) ?? 'unknown'}`, reason: reason || 'No reason given' };
}
