import type {
  Channel,
  ConversationStatus,
  EventType,
  MessageDirection,
  MessageStatus,
  MessageType,
  Priority,
} from '#domain';
import type { ContactEntity, ContactIdentityEntity } from '#database';
import type { ConversationRow } from '../conversations/conversations.repository.js';
import type { MessageRow } from '../messages/messages.repository.js';

/*
 * The `data` of each event: the resource as the REST API answers it (MessageDto, ConversationDto,
 * ContactDto with its identities, InboxDto), so an integrator parses a webhook with the same model
 * as a GET. apps/api/src/events/event-data.spec.ts holds these to the DTOs field for field.
 */

const iso = (date: Date | null): string | null => (date ? date.toISOString() : null);

/** The message row with its times as ISO strings; on `failed`, errorCode and errorReason say why. */
export type MessageEventData = Omit<MessageRow, 'createdAt' | 'updatedAt'> & { createdAt: string; updatedAt: string };

export interface ConversationEventData {
  id: string;
  contact: { id: string; name: string | null };
  status: ConversationStatus;
  assigneeId: string | null;
  teamId: string | null;
  priority: Priority;
  labels: string[];
  snoozedUntil: string | null;
  lastInboxId: string | null;
  lastActivityAt: string;
  lastMessage: { id: string; direction: MessageDirection; type: MessageType; body: string; status: MessageStatus; createdAt: string } | null;
  createdAt: string;
  updatedAt: string;
  resolvedAt: string | null;
}

export interface IdentityEventData {
  id: string;
  inboxId: string;
  channel: Channel;
  externalId: string;
  displayName: string | null;
  lastInboundAt: string | null;
  createdAt: string;
}

export interface ContactEventData {
  id: string;
  name: string | null;
  email: string | null;
  phone: string | null;
  language: string | null;
  timezone: string | null;
  country: string | null;
  customAttributes: Record<string, unknown>;
  createdAt: string;
  updatedAt: string;
  identities: IdentityEventData[];
}

/** The contact that remains, and the contacts folded into it (their identities and conversations now its). */
export interface ContactMergedEventData {
  contact: ContactEventData;
  mergedContactIds: string[];
}

export interface InboxEventData {
  id: string;
  name: string;
  channel: Channel;
  /** Secrets masked, as the API answers them. */
  config: Record<string, unknown>;
  webhookUrl: string | null;
  createdAt: string;
  updatedAt: string;
  /** Set when the inbox was deleted: the event of its removal. */
  deletedAt: string | null;
}

/** Each event type's data: the compiler holds every emission to its shape. */
export interface EventDataByType {
  'message.created': MessageEventData;
  'message.updated': MessageEventData;
  'conversation.created': ConversationEventData;
  'conversation.updated': ConversationEventData;
  'contact.created': ContactEventData;
  'contact.updated': ContactEventData;
  'contact.merged': ContactMergedEventData;
  'inbox.updated': InboxEventData;
}

// A new event type in #domain without a data shape here fails to compile.
type MissingData = Exclude<EventType, keyof EventDataByType>;
const assertComplete: [MissingData] extends [never] ? true : MissingData = true;
void assertComplete;

export function messageEventData(row: MessageRow): MessageEventData {
  return {
    id: row.id,
    conversationId: row.conversationId,
    direction: row.direction,
    type: row.type,
    body: row.body,
    template: row.template,
    status: row.status,
    identityId: row.identityId,
    inboxId: row.inboxId,
    channel: row.channel,
    senderMemberId: row.senderMemberId,
    externalId: row.externalId,
    fallback: row.fallback,
    errorCode: row.errorCode,
    errorReason: row.errorReason,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
  };
}

export function conversationEventData(row: ConversationRow): ConversationEventData {
  return {
    id: row.id,
    contact: { id: row.contactId, name: row.contactName },
    status: row.status,
    assigneeId: row.assigneeId,
    teamId: row.teamId,
    priority: row.priority,
    labels: row.labels,
    snoozedUntil: iso(row.snoozedUntil),
    lastInboxId: row.lastInboxId,
    lastActivityAt: row.lastActivityAt.toISOString(),
    lastMessage: row.lastMessage ? { ...row.lastMessage, createdAt: row.lastMessage.createdAt.toISOString() } : null,
    createdAt: row.createdAt.toISOString(),
    updatedAt: row.updatedAt.toISOString(),
    resolvedAt: iso(row.resolvedAt),
  };
}

export function contactEventData(contact: ContactEntity, identities: ContactIdentityEntity[]): ContactEventData {
  return {
    id: contact.id,
    name: contact.name,
    email: contact.email,
    phone: contact.phone,
    language: contact.language,
    timezone: contact.timezone,
    country: contact.country,
    customAttributes: contact.customAttributes,
    createdAt: contact.createdAt.toISOString(),
    updatedAt: contact.updatedAt.toISOString(),
    identities: identities.map((identity) => ({
      id: identity.id,
      inboxId: identity.inboxId,
      channel: identity.channel,
      externalId: identity.externalId,
      displayName: identity.displayName,
      lastInboundAt: iso(identity.lastInboundAt),
      createdAt: identity.createdAt.toISOString(),
    })),
  };
}

/** An inbox as InboxesService answers it (InboxView; structural, so this file imports no service). */
interface InboxLike {
  id: string;
  name: string;
  channel: Channel;
  config: Record<string, unknown>;
  webhookUrl: string | null;
  createdAt: Date;
  updatedAt: Date;
}

export function inboxEventData(view: InboxLike, deletedAt: Date | null = null): InboxEventData {
  return {
    id: view.id,
    name: view.name,
    channel: view.channel,
    config: view.config,
    webhookUrl: view.webhookUrl,
    createdAt: view.createdAt.toISOString(),
    updatedAt: view.updatedAt.toISOString(),
    deletedAt: iso(deletedAt),
  };
}
