import { DomainError, type FieldError } from '#domain';
import type { TemplateRef } from '#database';

export const MAX_BODY_LENGTH = 4096;

/** What an agent (or an integrator) asks to post in a conversation. */
export interface OutgoingMessage {
  type: 'text' | 'template' | 'note';
  body?: string;
  via?: { identityId: string };
  fallback?: string[];
  template?: TemplateRef;
}

/**
 * The rules that depend on the type: text and notes need a body, a template needs its reference,
 * and a note, which never leaves Ferry, takes no channel. Throws with every broken rule listed.
 */
export function assertOutgoingMessage(message: OutgoingMessage): void {
  const errors: FieldError[] = [];
  const body = message.body ?? '';
  if (message.type !== 'template' && body.trim().length === 0) {
    errors.push({ field: 'body', message: `body must not be empty for a ${message.type} message` });
  }
  if (body.length > MAX_BODY_LENGTH) errors.push({ field: 'body', message: `body must be at most ${MAX_BODY_LENGTH} characters` });
  if (message.type === 'template' && !message.template) {
    errors.push({ field: 'template', message: 'template is required for a template message' });
  }
  if (message.type !== 'template' && message.template) {
    errors.push({ field: 'template', message: 'template is only allowed for a template message' });
  }
  if (message.type === 'note') {
    if (message.via) errors.push({ field: 'via', message: 'a note is never sent, so it takes no via' });
    if (message.fallback?.length) errors.push({ field: 'fallback', message: 'a note is never sent, so it takes no fallback' });
  }
  if (errors.length > 0) throw DomainError.invalid('request.invalid', 'The request has invalid fields', errors);
}
