import type { HookEvent, InboundAttachment, InboundMessageEvent, SenderProfile } from '../channel-adapter.js';
import { epochAt, isObject, type JsonObject, malformed, objectAt, optionalText, readJsonBody, requiredText } from '../hook-payload.js';

/**
 * Reads a Telegram Bot API Update (https://core.telegram.org/bots/api#update). `message` and
 * `edited_message` become messages; every other kind of update (callback queries, channel posts,
 * member changes...) yields no event and is still acknowledged, or Telegram would redeliver it.
 */
export function parseTelegramUpdate(rawBody: Buffer): HookEvent[] {
  const update = objectAt(readJsonBody(rawBody), 'The update');
  const updateId = update['update_id'];
  if (typeof updateId !== 'number' || !Number.isInteger(updateId)) throw malformed('update_id must be an integer');
  if (update['message'] !== undefined) return messageEvents(objectAt(update['message'], 'message'), String(updateId), false);
  if (update['edited_message'] !== undefined) return messageEvents(objectAt(update['edited_message'], 'edited_message'), String(updateId), true);
  return [];
}

function messageEvents(message: JsonObject, updateId: string, edited: boolean): HookEvent[] {
  const where = edited ? 'edited_message' : 'message';
  const messageId = requiredText(message['message_id'], `${where}.message_id`);
  const chat = objectAt(message['chat'], `${where}.chat`);
  const chatId = requiredText(chat['id'], `${where}.chat.id`);
  const sentAt = epochAt(message['date'], `${where}.date`, 'seconds');
  const content = readContent(message, where);
  if (content.body === '' && content.attachments.length === 0) return []; // service messages (members joined, pinned...)
  const original = `${chatId}:${messageId}`;
  const event: InboundMessageEvent = {
    kind: 'message',
    providerEventId: updateId,
    providerMessageId: original,
    sender: senderOf(message, chat, chatId),
    body: content.body,
    attachments: content.attachments,
    occurredAt: sentAt,
  };
  if (edited) {
    // The edit is its own message record (the original keeps its id); editOf points at the original.
    const editedAt = message['edit_date'] === undefined ? sentAt : epochAt(message['edit_date'], `${where}.edit_date`, 'seconds');
    event.providerMessageId = `${original}:edit:${editedAt.getTime() / 1000}`;
    event.occurredAt = editedAt;
    event.editOf = original;
  }
  return [event];
}

function senderOf(message: JsonObject, chat: JsonObject, chatId: string): SenderProfile {
  const from = isObject(message['from']) ? message['from'] : {};
  const fullName = [optionalText(from['first_name']), optionalText(from['last_name'])].filter(Boolean).join(' ');
  const name = fullName || optionalText(from['username']) || optionalText(chat['title']);
  // The chat is who we answer: in a private chat it is the user, in a group the group.
  const sender: SenderProfile = { externalId: chatId };
  if (name) sender.name = name;
  // A user sharing their own contact card tells us their phone: it links them to their other identities.
  const contact = isObject(message['contact']) ? message['contact'] : undefined;
  const fromId = optionalText(from['id']);
  if (contact && fromId !== undefined && optionalText(contact['user_id']) === fromId) {
    const phone = optionalText(contact['phone_number']);
    if (phone) sender.phone = phone.startsWith('+') ? phone : `+${phone}`;
  }
  return sender;
}

function fileAttachment(value: unknown, kind: InboundAttachment['kind'], where: string): InboundAttachment {
  const file = objectAt(value, where);
  const attachment: InboundAttachment = { kind, ref: requiredText(file['file_id'], `${where}.file_id`) };
  const mimeType = optionalText(file['mime_type']);
  const name = optionalText(file['file_name']);
  if (mimeType) attachment.mimeType = mimeType;
  if (name) attachment.name = name;
  return attachment;
}

function readContent(message: JsonObject, where: string): { body: string; attachments: InboundAttachment[] } {
  const attachments: InboundAttachment[] = [];
  let body = optionalText(message['text']) ?? optionalText(message['caption']) ?? '';
  if (message['photo'] !== undefined) {
    const sizes = Array.isArray(message['photo']) ? message['photo'] : [];
    if (sizes.length === 0) throw malformed(`${where}.photo must be a non-empty array`);
    attachments.push(fileAttachment(sizes[sizes.length - 1], 'image', `${where}.photo`)); // sizes grow: the last is the original
  }
  if (message['document'] !== undefined) attachments.push(fileAttachment(message['document'], 'file', `${where}.document`));
  if (message['voice'] !== undefined) attachments.push(fileAttachment(message['voice'], 'audio', `${where}.voice`));
  if (message['audio'] !== undefined) attachments.push(fileAttachment(message['audio'], 'audio', `${where}.audio`));
  if (message['video'] !== undefined) attachments.push(fileAttachment(message['video'], 'video', `${where}.video`));
  if (message['sticker'] !== undefined) {
    attachments.push(fileAttachment(message['sticker'], 'sticker', `${where}.sticker`));
    body ||= optionalText(objectAt(message['sticker'], `${where}.sticker`)['emoji']) ?? '';
  }
  if (message['location'] !== undefined) {
    const at = objectAt(message['location'], `${where}.location`);
    attachments.push({ kind: 'location', ref: `${requiredText(at['latitude'], `${where}.location.latitude`)},${requiredText(at['longitude'], `${where}.location.longitude`)}` });
  }
  if (message['contact'] !== undefined && !body) {
    const card = objectAt(message['contact'], `${where}.contact`);
    body = [optionalText(card['first_name']), optionalText(card['last_name']), requiredText(card['phone_number'], `${where}.contact.phone_number`)].filter(Boolean).join(' ');
  }
  return { body, attachments };
}
