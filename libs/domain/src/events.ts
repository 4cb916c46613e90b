// The one event catalogue shared by integrator webhooks and the dashboard's socket.io stream (API.md "Events").
// The envelope is built once, when the change is committed, so its id stays stable across webhook retries
// and socket.io fan-out alike.
export const EVENT_TYPES = [
  'message.created',
  'message.updated',
  'conversation.created',
  'conversation.updated',
  'contact.created',
  'contact.updated',
  'contact.merged',
  'inbox.updated',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export interface EventEnvelope<D = Record<string, unknown>> {
  id: string;
  type: EventType;
  createdAt: string;
  workspaceId: string;
  data: D;
}

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}
