import type { OpenAPIObject } from '@nestjs/swagger';
import { EVENT_TYPES, type EventType } from '#domain';

/*
 * The event catalogue in the OpenAPI document: one `webhooks` entry per event type (OpenAPI 3.1),
 * the request Ferry sends to an endpoint subscribed to it, its body the event envelope. Each event's
 * `data` is the resource as the REST API answers it, so its schema is the response DTO's own
 * (MessageDto, ConversationDto, ContactDto, InboxDto). The socket.io stream carries the same
 * envelopes, each under its type as the event name. A new event type must be described here:
 * EVENTS is keyed by EventType, so the compiler asks.
 */

const ref = (name: string) => ({ $ref: `#/components/schemas/${name}` });

interface EventDoc {
  schema: string;
  summary: string;
}

const EVENTS: Record<EventType, EventDoc> = {
  'message.created': { schema: 'MessageEventData', summary: 'A message was written: a customer\'s (in), an agent\'s reply (out, queued) or a note' },
  'message.updated': {
    schema: 'MessageEventData',
    summary: 'A message changed: its status moved (sent, delivered, read, or failed with errorCode and errorReason), or a customer edited it',
  },
  'conversation.created': { schema: 'ConversationEventData', summary: 'A conversation was opened (by an agent, or by a customer\'s first message)' },
  'conversation.updated': {
    schema: 'ConversationEventData',
    summary: 'A conversation changed: status, assignee, team, priority, labels or snooze; or a customer\'s message reopened or woke it',
  },
  'contact.created': { schema: 'ContactEventData', summary: 'A contact was created (by an agent, an integrator, or a new customer\'s first message)' },
  'contact.updated': { schema: 'ContactEventData', summary: 'A contact changed, or gained an identity (a known customer reached on one more channel)' },
  'contact.merged': { schema: 'ContactMergedEventData', summary: 'Contacts were merged into one: `contact` remains, `mergedContactIds` were folded into it' },
  'inbox.updated': { schema: 'InboxEventData', summary: 'An inbox was changed, or deleted (deletedAt set)' },
};

const DATA_SCHEMAS: Record<string, object> = {
  MessageEventData: { ...ref('MessageDto'), description: 'The message, as GET /v1/messages/{id} answers it (without the attempts)' },
  ConversationEventData: { ...ref('ConversationDto'), description: 'The conversation, as GET /v1/conversations/{id} answers it' },
  ContactEventData: {
    allOf: [ref('ContactDto'), { type: 'object', required: ['identities'] }],
    description: 'The contact with its identities, as GET /v1/contacts/{id} answers it',
  },
  ContactMergedEventData: {
    type: 'object',
    required: ['contact', 'mergedContactIds'],
    properties: {
      contact: ref('ContactEventData'),
      mergedContactIds: { type: 'array', items: { type: 'string', format: 'uuid' } },
    },
  },
  InboxEventData: {
    allOf: [
      ref('InboxDto'),
      {
        type: 'object',
        required: ['deletedAt'],
        properties: { deletedAt: { type: ['string', 'null'], format: 'date-time', description: 'Set on the event of its deletion' } },
      },
    ],
    description: 'The inbox, as GET /v1/inboxes/{id} answers it (secrets masked)',
  },
};

const HEADERS = [
  { name: 'webhook-id', description: 'The event id: the same on every retry and replay (deduplicate on it)', example: '01936f8e-c3d4-7e5f-8a6b-7c8d9e0f1a2b' },
  { name: 'webhook-timestamp', description: 'Unix seconds when this attempt was signed', example: '1764320000' },
  {
    name: 'webhook-signature',
    description: 'Standard Webhooks: space-separated `v1,<base64 HMAC-SHA256 of "{webhook-id}.{webhook-timestamp}.{body}">`, one per active secret',
    example: 'v1,K5oZfzN95Z9UVu1EsfQmfVNQhnkZ2pj9o9NDN/H/pI4=',
  },
];

/** The envelope schema name of an event type: `message.created` → MessageCreatedEvent. */
export function eventSchemaName(type: EventType): string {
  return `${type.split(/[._]/).map((part) => part[0]!.toUpperCase() + part.slice(1)).join('')}Event`;
}

function envelope(type: EventType, data: string): object {
  return {
    type: 'object',
    required: ['id', 'type', 'createdAt', 'workspaceId', 'data'],
    properties: {
      id: { type: 'string', format: 'uuid', description: 'Stable across retries, replays and the live stream' },
      type: { type: 'string', const: type, enum: [type] },
      createdAt: { type: 'string', format: 'date-time', description: 'When the change was committed' },
      workspaceId: { type: 'string', format: 'uuid' },
      data: ref(data),
    },
  };
}

/** Adds the event schemas and the `webhooks` section; throws if a DTO an event refers to is missing. */
export function addEventCatalogue(document: OpenAPIObject): void {
  const schemas = (document.components ??= {}).schemas ??= {};
  for (const dto of ['MessageDto', 'ConversationDto', 'ContactDto', 'InboxDto']) {
    if (!schemas[dto]) throw new Error(`The event catalogue refers to ${dto}, which is not in the OpenAPI document`);
  }
  Object.assign(schemas, DATA_SCHEMAS);
  const webhooks: Record<string, object> = {};
  for (const type of EVENT_TYPES) {
    const { schema, summary } = EVENTS[type];
    schemas[eventSchemaName(type)] = envelope(type, schema) as never;
    webhooks[type] = {
      post: {
        operationId: `event_${type.replace('.', '_')}`,
        tags: ['events'],
        summary,
        description:
          `Sent to each enabled webhook endpoint subscribed to \`${type}\`, signed the Standard Webhooks way; ` +
          `the dashboard's socket.io stream carries the same envelope as the event \`${type}\`.`,
        parameters: HEADERS.map((header) => ({ ...header, in: 'header', required: true, schema: { type: 'string' } })),
        requestBody: { required: true, content: { 'application/json': { schema: ref(eventSchemaName(type)) } } },
        responses: {
          '2XX': { description: 'Received. Any other answer, a redirect or no answer within 15 s is retried on the published schedule' },
          '410': { description: 'Gone: Ferry disables the endpoint at once and sends nothing more' },
        },
      },
    };
  }
  (document as OpenAPIObject & { webhooks: Record<string, object> }).webhooks = webhooks;
}
