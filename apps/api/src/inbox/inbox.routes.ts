import type { Type } from '@nestjs/common';

/** Controllers of the inbox domain: inboxes, contacts, conversations, messages, settings. */
export const INBOX_CONTROLLERS: Type[] = [];
